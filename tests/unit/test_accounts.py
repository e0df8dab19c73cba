"""Accounts through shadow-utils --root: the exact commands, hashes only on stdin, SSH keys owned and private."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from installer.accounts import configure_accounts, missing_groups, useradd_argv
from installer.core.events import EventBus, HumanLogReporter, JsonLinesReporter
from installer.core.runner import Arg, CommandResult, LineCallback, RecordingRunner, Reply
from profiles import profile_from_text
from profiles.model import User
from tests.support.accounts import fake_root, fake_useradd

USER_HASH = "$y$j9T$Pq1sCpQ3bNpXKpnM9HnN3.$nPzO3lqK6oXkc1eXzKkRj0JzGGQXG0oX6cWXk6Y1tH9"
ROOT_HASH = "$6$rootsalt$Xy0vRkqvN0F3cY1fQp2sH7bW9mZ4tL6aD8eJ1gK5nP3rS7uV0wA2xC4yE6zB8dF1hJ3kM5oQ7sU9vW1xY3z5"
BASE = """\
storage: {disks: [{path: /dev/vda}]}
payload: {image: {path: /x.tar}}
"""


@dataclass
class StdinRecorder(RecordingRunner):
    """A RecordingRunner that also keeps what each command was given on stdin."""

    stdin: list[str | None] = field(default_factory=list)

    def run(self, argv: Sequence[Arg], *, check: bool = True, env: Mapping[str, str] | None = None,
            stdin_text: str | None = None, on_line: LineCallback | None = None,
            timeout: float | None = None) -> CommandResult:
        self.stdin.append(stdin_text)
        return super().run(argv, check=check, env=env, stdin_text=stdin_text, on_line=on_line, timeout=timeout)


def test_useradd_argv_names_every_choice() -> None:
    user = User(name="ops", groups=("wheel", "adm"), uid=1500, shell="/bin/zsh", gecos="Ops Person")
    assert [str(a) for a in useradd_argv(Path("/mnt/t"), user)] == [
        "useradd", "--root", "/mnt/t", "--create-home", "--user-group", "--shell", "/bin/zsh", "--uid", "1500",
        "--comment", "Ops Person", "--groups", "wheel,adm", "ops"]


def test_missing_groups_once_each_in_order() -> None:
    users = [User(name="a", groups=("docker", "wheel")), User(name="b", groups=("video", "docker"))]
    assert missing_groups(users, {"wheel"}) == ["docker", "video"]


def test_hashes_go_on_stdin_and_never_into_an_argv_or_a_log(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    text = BASE + (f"users: [{{name: ops, password_hash: '{USER_HASH}'}}]\n"
                   f"root: {{locked: false, password_hash: '{ROOT_HASH}'}}\n")
    human, jsonl = io.StringIO(), io.StringIO()
    runner = StdinRecorder()
    runner.reply(["useradd"], fake_useradd(root))
    events = EventBus(HumanLogReporter(human), JsonLinesReporter(jsonl))
    configure_accounts(profile_from_text(text), root, runner, events)
    assert runner.commands() == [f"useradd --root {root} --create-home --user-group --shell /bin/bash ops",
                                 f"chpasswd --root {root} --encrypted"]  # root unlocked: no usermod --lock
    assert runner.stdin[-1] == f"ops:{USER_HASH}\nroot:{ROOT_HASH}\n"
    for secret in (USER_HASH, ROOT_HASH, USER_HASH.split("$")[-1]):
        assert not [c for c in runner.commands() if secret in c]
        assert secret not in human.getvalue() + jsonl.getvalue()


def test_no_password_no_chpasswd_and_root_locked(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    runner = RecordingRunner()
    runner.reply(["useradd"], fake_useradd(root))
    configure_accounts(profile_from_text(BASE + "users: [{name: keyonly}]\n"), root, runner, EventBus())
    assert [c.split()[0] for c in runner.commands()] == ["useradd", "usermod"]


def test_an_existing_user_is_refused_before_anything_runs(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    runner = RecordingRunner()
    with pytest.raises(ValueError, match="user 'bin' already exists"):
        configure_accounts(profile_from_text(BASE + "users: [{name: bin}]\n"), root, runner, EventBus())
    assert runner.calls == []


def test_ssh_keys_never_follow_a_link_out_of_the_target(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    root = fake_root(tmp_path / "root")
    outside = tmp_path / "outside"
    outside.mkdir()
    runner = RecordingRunner()

    def useradd_with_linked_ssh(argv: tuple[str, ...]) -> None:
        effect = fake_useradd(root).effect
        assert effect is not None
        effect(argv)
        (root / "home/evil/.ssh").symlink_to(outside)

    runner.reply(["useradd"], Reply(effect=useradd_with_linked_ssh))
    text = BASE + "users: [{name: evil, ssh_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8Fq9m3fW2 a@b']}]\n"
    with pytest.raises(OSError, match="symbolic link"):
        configure_accounts(profile_from_text(text), root, runner, EventBus())
    assert list(outside.iterdir()) == []
