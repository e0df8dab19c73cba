# At a console login on the live system: start the interactive installer once per console,
# then show how to run it again. The launcher writes the hint at boot, so on a system
# installed from this root (no launcher) nothing happens.
if [ -r /run/azl-installer/hint.txt ]; then
  azl_tty=$(tty 2>/dev/null | tr / _)
  if [ -n "$azl_tty" ] && [ ! -e "/run/azl-installer/started$azl_tty" ]; then
    touch "/run/azl-installer/started$azl_tty"
    # A serial line reports no size: assume the 80x24 every terminal can show.
    if [ "$(stty size 2>/dev/null)" = "0 0" ] || [ -z "$(stty size 2>/dev/null)" ]; then
      stty rows 24 cols 80 2>/dev/null
    fi
    if grep -qw inst.text /proc/cmdline; then azl-installer --text; else azl-installer; fi
  fi
  cat /run/azl-installer/hint.txt
fi
