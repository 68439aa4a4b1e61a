# Juniper Junos: one exec channel per command, so no prompt and no pager.
# Format: docs/profiles.md.
description Juniper Junos
mode exec
command show version
command show chassis hardware
command show configuration | display omit
logout exit

# A comment line Junos rewrites at each commit.
volatile ^## Last commit:
# $9$ secrets are re-encrypted with a new salt on every dump.
volatile \$9\$

secret \b(?:encrypted-password|secret|authentication-key|pre-shared-key|password|community|simple-password) ("[^"]*"|[^";\s]+)
secret ://[^:/@\s"]+:([^@\s"]+)@

end_marker ^}$
min_lines 10
