"""cloud-init user-data and network-config checked before an install, with the line to fix.

Pure text checks (no cloud-init needed): a '#cloud-config' document must be YAML whose
top-level keys are ones cloud-init's modules read; a MIME multipart has each cloud-config
part checked the same way. Unknown keys are refused (cloud-init itself would only warn and
ignore them, so a misspelt `pakages` would silently install nothing).
"""

from __future__ import annotations

import difflib
import email
from dataclasses import dataclass

import yaml

# Top-level keys read by cloud-init's modules and core (cloud-init 24.x config schema).
CLOUD_CONFIG_KEYS = frozenset({
    "allow_public_ssh_keys", "ansible", "apk_repos", "apt", "apt_pipelining", "apt_reboot_if_required",
    "apt_update", "apt_upgrade", "autoinstall", "bootcmd", "byobu_by_default", "ca_certs", "ca-certs", "chef",
    "chpasswd", "cloud_config_modules", "cloud_final_modules", "cloud_init_modules", "create_hostname_file",
    "datasource", "datasource_list", "device_aliases", "disable_ec2_metadata", "disable_root",
    "disable_root_opts", "disk_setup", "drivers", "fan", "final_message", "fqdn", "fs_setup", "groups",
    "growpart", "grub_dpkg", "grub-dpkg", "hostname", "keyboard", "landscape", "locale", "locale_configfile",
    "lxd", "manage_etc_hosts", "manage_resolv_conf", "manual_cache_clean", "mcollective", "merge_how",
    "merge_type", "mount_default_fields", "mounts", "network", "no_ssh_fingerprints", "ntp", "output",
    "package_reboot_if_required", "package_update", "package_upgrade", "packages", "password", "phone_home",
    "power_state", "prefer_fqdn_over_hostname", "preserve_hostname", "puppet", "random_seed", "reporting",
    "resize_rootfs", "resolv_conf", "rh_subscription", "rsyslog", "runcmd", "salt_minion", "seed_random",
    "snap", "spacewalk", "ssh", "ssh_authorized_keys", "ssh_deletekeys", "ssh_fp_console_blacklist",
    "ssh_genkeytypes", "ssh_import_id", "ssh_key_console_blacklist", "ssh_keys", "ssh_publish_hostkeys",
    "ssh_pwauth", "ssh_quiet_keygen", "swap", "system_info", "timezone", "ubuntu_advantage", "ubuntu_pro",
    "ubuntu_drivers", "updates", "user", "users", "vendor_data", "wireguard", "write_files", "yum_repo_dir",
    "yum_repos", "zypper",
})  # fmt: skip
# Keys whose value cloud-init only accepts as a list: a mapping there is a common mistake.
_LISTS = ("bootcmd", "runcmd", "packages", "write_files", "ssh_authorized_keys", "groups")
_CLOUD_CONFIG_TYPES = ("text/cloud-config", "text/cloud-config-jsonp")


@dataclass(frozen=True)
class UserDataIssue:
    line: int  # 1-based line within the user-data (0: the whole document)
    message: str

    def __str__(self) -> str:
        return f"user-data line {self.line}: {self.message}" if self.line else self.message


def check_user_data(text: str) -> list[UserDataIssue]:
    """Every problem of a user-data document; empty when cloud-init will read it as meant."""
    head = text.lstrip("\ufeff")
    if head.startswith("#cloud-config"):
        return _cloud_config(head, 0)
    if _is_multipart(head):
        return _multipart(head)
    first = head.splitlines()[0] if head.strip() else ""
    return [UserDataIssue(0, "user-data must start with a '#cloud-config' line or be a MIME multipart "
                             f"(Content-Type: multipart/mixed); got '{first[:40]}'")]


def _is_multipart(text: str) -> bool:
    headers = text.split("\n\n", 1)[0].lower()
    return "content-type: multipart/" in headers


def _cloud_config(text: str, offset: int) -> list[UserDataIssue]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 + offset if mark else offset + 1
        return [UserDataIssue(line, f"not valid YAML: {err.problem or err.context}")]
    except yaml.YAMLError as err:
        return [UserDataIssue(offset + 1, f"not valid YAML: {err}")]
    if node is None:
        return []
    if not isinstance(node, yaml.MappingNode):
        return [UserDataIssue(node.start_mark.line + 1 + offset, "cloud-config must be a mapping of module keys")]
    issues = []
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
        line = key_node.start_mark.line + 1 + offset
        if key not in CLOUD_CONFIG_KEYS:
            hint = difflib.get_close_matches(str(key), sorted(CLOUD_CONFIG_KEYS), n=1, cutoff=0.7)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            issues.append(UserDataIssue(line, f"unknown cloud-config key '{key}'{extra}"))
        elif key in _LISTS and not isinstance(value_node, yaml.SequenceNode):
            issues.append(UserDataIssue(line, f"'{key}' must be a list"))
        elif key == "write_files" and isinstance(value_node, yaml.SequenceNode):
            for item in value_node.value:
                paths = [k.value for k, _ in item.value] if isinstance(item, yaml.MappingNode) else []
                if "path" not in paths:
                    issues.append(UserDataIssue(item.start_mark.line + 1 + offset, "a write_files entry needs path"))
    return issues


def _multipart(text: str) -> list[UserDataIssue]:
    message = email.message_from_string(text)
    if not message.is_multipart():
        return [UserDataIssue(1, "the MIME message says multipart but has no parts (check the boundary)")]
    issues: list[UserDataIssue] = []
    parts = [p for p in message.walk() if not p.is_multipart()]
    if not parts:
        return [UserDataIssue(0, "user-data: the MIME multipart has no parts")]
    for number, part in enumerate(parts, start=1):
        if part.get_content_type() not in _CLOUD_CONFIG_TYPES:
            continue
        payload = part.get_payload(decode=True)
        body = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(part.get_payload())
        offset = _line_of(text, body)
        for issue in _cloud_config(body, offset):
            where = "" if offset else f" (MIME part {number})"
            issues.append(UserDataIssue(issue.line, issue.message + where))
    return issues


def _line_of(text: str, body: str) -> int:
    """Lines before body's first line in text, so part lines count from the document's top (0 if not found)."""
    first = next((line for line in body.splitlines() if line.strip()), "")
    index = text.find(first) if first else -1
    return text.count("\n", 0, index) if index >= 0 else 0


def check_network_config(text: str) -> list[str]:
    """Problems of a NoCloud network-config (version 1 or 2, optionally under a top-level network: key)."""
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        return [f"network-config line {mark.line + 1 if mark else 1}: not valid YAML: {err.problem}"]
    except yaml.YAMLError as err:
        return [f"network-config: not valid YAML: {err}"]
    if isinstance(data, dict) and isinstance(data.get("network"), dict):
        data = data["network"]
    if not isinstance(data, dict) or data.get("version") not in (1, 2):
        return ["network-config must be a mapping with version: 1 or version: 2"]
    return []
