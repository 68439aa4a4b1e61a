# Palo Alto PAN-OS. Its session stays open unless it gets "quit".
# Format: docs/profiles.md.
description Palo Alto PAN-OS
mode shell
newline \n
prompt ^([\w.@:()-]+>\s?)$
setup set cli pager off
command show system info
command show config running
logout quit

volatile ^time:
volatile ^uptime:
volatile ^(?:app|av|threat|wildfire|url-filtering|global-protect-datafile|global-protect-clientless-vpn|device-dictionary|wf-private)-(?:version|release-date):

secret \b(?:phash|password|pre-shared-key|secret|key|community|auth-password|priv-password) ("[^"]*"|[^";\s]+);

end_marker ^}$
min_lines 10
