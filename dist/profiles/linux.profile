# A generic Linux (or other POSIX) shell over an interactive terminal.
# Hosts that allow it are better collected over exec channels (see the
# Linux path of the proxy agent); this profile is for appliances whose
# only door is a shell. Format: docs/profiles.md.
description Generic Linux shell
mode shell
newline \n
prompt ^\S.*[#$] $
setup export LC_ALL=C PAGER=cat SYSTEMD_PAGER=
command uname -a
command cat /etc/os-release
command ip -o link show
command ip route show
logout exit

min_lines 3
