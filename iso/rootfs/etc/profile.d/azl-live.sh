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
    # serial-getty passes TERM=vt220 and the VT TERM=linux; an empty one would mean the line mode.
    export TERM="${TERM:-vt220}"
    # Kernel messages written to the console would land in the middle of the installer's
    # screen (ttyS0 is /dev/console): from now on only emergencies reach the consoles.
    dmesg --console-level emerg 2>/dev/null
    # The live medium's starting point: its own root as the payload, every screen open.
    azl_base=/usr/share/azl-installer/interactive.yaml
    # inst.profile= named a profile with interactive_sections: iso/launcher.py left its path here.
    [ -r /run/azl-installer/interactive-profile ] && azl_base=$(cat /run/azl-installer/interactive-profile)
    azl_args=""
    [ -r "$azl_base" ] && azl_args="--profile $azl_base"
    if grep -qw inst.text /proc/cmdline; then azl_args="$azl_args --text"; fi
    # shellcheck disable=SC2086 # the words are meant to split
    azl-installer $azl_args
  fi
  cat /run/azl-installer/hint.txt
fi
