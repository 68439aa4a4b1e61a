# Cisco ASA. "more system:running-config" shows secrets unmasked, so
# their hashes change when they do. Format: docs/profiles.md.
description Cisco ASA
mode shell
newline \n
prompt ^([\w.@()/-]+[#>]\s?)$
enable_command enable
enable_prompt ^([\w.@()/-]+#\s?)$
setup terminal pager 0
command show version
command show inventory
command more system:running-config
logout exit
pager \s <--- More --->\s*$

volatile \bup \d+ (?:days?|hours?|mins?|secs?)\b
volatile ^Configuration last modified by
volatile ^: Written by

secret ^enable password (\S+)
secret ^passwd (\S+)
secret ^username \S+ password (\S+)
secret ^ *key (\S+)$
secret \b(?:pre-shared-key|ikev1 pre-shared-key|community|authentication-key)(?: [0-9])? (\S+)

end_marker ^: end$
min_lines 10
