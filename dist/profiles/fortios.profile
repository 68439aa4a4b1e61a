# Fortinet FortiOS and FortiManager. Format: docs/profiles.md.
description Fortinet FortiOS
mode shell
newline \n
prompt ^(\(\w+\) )?([-\w.~()]+(\s[(\w\-.)]+)?~?\s?[#>$]\s?)$
command get system status
command show
logout exit
pager \s --More--\s*$
pager a \(Press 'a' to accept\):\s*$

volatile ^#config-version=
volatile ^Current Time\s*:
volatile ^System time:
volatile ^Disk Usage\s*:
volatile ^Uptime\s*:
volatile ^Cluster uptime:
# ENC secrets are re-encrypted with a new salt on every dump, and so are
# the private keys inside certificates.
volatile \bENC \S+
volatile ^[A-Za-z0-9+/]{16,}={0,2}$

secret \bENC (\S+)
secret ^([A-Za-z0-9+/]{16,}={0,2})$
secret \bset (?:password|passwd|psksecret|secret|key|auth-pwd|priv-pwd|passphrase) (?!ENC )(\S+)

end_marker ^end$
min_lines 10
