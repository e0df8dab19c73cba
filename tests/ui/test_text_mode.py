"""The line-based mode, fed from a script of answers as a pipe would."""

from __future__ import annotations

import subprocess
import sys

from tests.support.ui import dry_run, run

HAPPY = ["en_US", "", "berlin",  # language en_US.UTF-8 (a unique match), keyboard kept, time zone Europe/Berlin
         "1", "2", "", "", "",  # target vda, keep vdb, automatic layout, filesystem and firmware kept
         "",  # encryption off
         "", "1", "azure-agents", "vim-minimal",  # repository, environment, groups, packages
         "web-01", "", "secret123", "secret123", "", "",  # host, user, password twice, admin kept, no key
         "", "",  # users done, no cloud-init user-data
         "yes"]


def test_happy_path_installs_what_was_chosen() -> None:
    code, out, engine = run(HAPPY)
    assert code == 0, out
    assert "This ERASES /dev/vda." in out and "Installed." in out and "[storage] started" in out
    profile = engine.installed[0]
    assert profile.system.locale == "en_US.UTF-8" and profile.system.timezone == "Europe/Berlin"
    assert profile.payload.groups == ("azure-agents",) and profile.payload.environment == "azure-server"
    assert [d.path for d in profile.storage.leave_alone] == ["/dev/vdb"]
    assert profile.users[0].password_hash and "secret123" not in out


def test_validation_errors_are_asked_again() -> None:
    answers = ["", "", "",
               "9", "3", "", "", "", "", "1", "x", "1", "", "", "", "",  # bad number, too small, bad keep, fine
               "2", "short", "short", "2", "longpassphrase", "longpassphrase",  # passphrase too short, then fine
               "", "2", "", "", "", "", "vim",  # nothing to install, then a package
               "bad_host!", "root", "", "", "",  # bad host; user root without password or key
               "admin", "secret123", "secret123", "", "",  # fixed user
               "", "5", "web", "", ""]  # done: the host name is refused; fix it; done; no user-data
    code, out, _ = run([*answers, "q"])
    assert "! type a number from 1 to 3" in out
    assert "/dev/vdc has 1 GiB" in out and "'x' is not a disk number" in out
    assert "passphrase needs at least 8" in out and "nothing would be installed" in out
    assert "! host name" in out and "system account" in out and "give the user a password" in out
    # encryption is not applied: the plan has a blocker, and q at the section prompt quits
    assert "  x encryption: " in out  # the plan's own reason, whatever this machine lacks
    assert code == 2 and "nothing was changed" in out


def test_end_of_input_quits_without_changes() -> None:
    code, out, engine = run(["", ""])
    assert code == 2 and "input ended" in out and engine.installed == []


def test_failed_install_names_the_log() -> None:
    code, out, _ = run(HAPPY, dry_run(fail_step="payload"))
    assert code == 1 and "[payload] FAILED: dnf could not find package nope" in out
    assert "full log: /var/log/azl-installer/install-test.log" in out


def test_python_m_ui_chooses_line_mode_when_stdin_is_not_a_terminal(tmp_path: object) -> None:
    proc = subprocess.run([sys.executable, "-m", "ui", "--target-image", "/nonexistent/x.img", "--image-size",
                           "8GiB"], input="q\n", capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "line mode" in proc.stdout and "Quit (quit); nothing was changed." in proc.stdout
