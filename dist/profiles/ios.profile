# Cisco IOS and IOS-XE. Format: docs/profiles.md.
description Cisco IOS and IOS-XE
mode shell
newline \n
prompt ^([\w.@()-]+[#>]\s?)$
enable_command enable
enable_prompt ^([\w.@()-]+#\s?)$
setup terminal length 0
setup terminal width 0
command show version
command show inventory
command show running-config
logout exit

# The pager, should "terminal length 0" be refused (privilege level).
pager \s ^\s*--More--\s*$

drop ^Building configuration\.\.\.$
drop ^Current configuration : \d+ bytes$
# Kept (as volatile) only when it names who changed the config.
drop ^! Last configuration change at (?!.*\bby\b)
mask <n> ^ntp clock-period (\d+)$
volatile ^! Last configuration change at
volatile ^! NVRAM config last updated at
volatile ^! No configuration change since last restart
volatile uptime is
volatile ^Uptime for this control processor is
volatile ^System returned to ROM by
volatile ^System restarted at

secret ^enable (?:secret|password)(?: level \d+)?(?: \d)? (\S+)
secret ^username \S+(?: privilege \d+)? (?:secret|password)(?: \d)? (\S+)
secret ^snmp-server community (\S+)
secret ^snmp-server host \S+(?: vrf \S+)?(?: informs| traps)? version (?:1|2c) (\S+)
secret \b(?:server-key|key-string|pre-shared-key|authentication-key)(?: [0-9])? (\S+)
secret ^ *(?:tacacs-server |radius-server )?key(?: [0-9])? (\S+)$
secret \bcrypto isakmp key(?: [0-9])? (\S+)
secret \bmessage-digest-key \d+ md5(?: [0-9])? (\S+)
secret \bset-key (?:ascii|hex) [0-9] (.+)$
secret \b(?:password|secret) [0-9] ((?:(?! (?:password|secret) [0-9] )\S| )+?)(?= (?:password|secret) [0-9] |$)

end_marker ^end$
min_lines 10
