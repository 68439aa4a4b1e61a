# Arista EOS. Format: docs/profiles.md.
description Arista EOS
mode shell
newline \n
prompt ^([\w.@()/:-]+[#>]\s?)$
enable_command enable
enable_prompt ^([\w.@()/:-]+#\s?)$
command show inventory | no-more
command show running-config | no-more | exclude ! Time:
logout exit
pager \s ^\s*--More--\s*$

volatile ^! Time:
volatile ^! Startup-config last modified at

secret ^snmp-server community (\S+)
secret ^snmp-server host \S+(?: vrf \S+)? version (?:1|2c) (\S+)
secret \bsecret(?: sha512| [0-9])? (\S+)
secret \b(?:password|key)(?: [0-9])? (\S+)$

end_marker ^end$
min_lines 10
