# MikroTik RouterOS: one exec channel per command. Secrets are exported
# (show-sensitive) so that their hashes change when they do.
# Format: docs/profiles.md.
description MikroTik RouterOS
mode exec
command /system resource print
command /system package update print
command_volatile /system history print without-paging
command /export show-sensitive
logout quit

# Long lines are wrapped with a trailing backslash.
continuation \\$
mask <time> ^# (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) by RouterOS
volatile ^# \S+ \S+ by RouterOS
volatile ^\s*(?:uptime|free-memory|cpu-load|free-hdd-space|write-sect-since-reboot|write-sect-total|bad-blocks|cpu-frequency):
volatile ^\s*(?:latest-version|status):

secret \b(?:password|secret|passphrase|pre-shared-key|wpa-pre-shared-key|wpa2-pre-shared-key|authentication-key|auth-key|key|private-key|psk)=("[^"]*"|\S+)

min_lines 5
