# Cisco NX-OS. Format: docs/profiles.md.
description Cisco NX-OS
mode shell
newline \n
prompt ^([\w.@_()-]+#\s?)$
setup terminal length 0
command show version
command show inventory all
command show running-config
logout exit
pager \s ^\s*--More--\s*$

drop ^!Time:
volatile ^!Running configuration last done at:
volatile uptime is
volatile ^\s*Last reset

secret ^snmp-server user \S+ \S+ auth \S+ (\S+)(?: priv(?: aes-128)? (\S+))?
secret ^snmp-server community (\S+)
secret ^username \S+ password \d (\S+)
secret \b(?:key|key-string|authentication-key)(?: [0-9])? (\S+)$
secret ^ *(?:tacacs-server|radius-server) (?:host \S+ )?key(?: [0-9])? "?([^"\s]+)"?

# NX-OS prints no end marker: only the line count guards it.
min_lines 10
