"""user-data's passwords and private keys never reach a saved or logged profile; hashes and the rest stay."""

from __future__ import annotations

import yaml

from profiles import dump_profile, profile_from_text
from profiles.userdata_secrets import REMOVED, redact_user_data

CLOUD_CONFIG = """\
#cloud-config
password: plain-Secret-1
chpasswd:
  expire: false
  list: |
    root:plain-Secret-2
  users:
    - {name: ops, password: plain-Secret-3, type: text}
    - {name: web, password: $6$salt$hashvalue, type: hash}
users:
  - default
  - {name: dev, plain_text_passwd: plain-Secret-4, groups: [wheel]}
  - {name: ci, hashed_passwd: $6$salt$otherhash}
ssh_keys:
  rsa_private: |
    -----BEGIN RSA PRIVATE KEY-----
    plain-Secret-5
  rsa_public: ssh-rsa AAAA host
packages: [vim]
"""


def test_every_password_and_private_key_goes_and_the_rest_stays() -> None:
    redacted = redact_user_data(CLOUD_CONFIG)
    assert redacted.startswith("#cloud-config\n")
    for n in range(1, 6):
        assert f"plain-Secret-{n}" not in redacted
    data = yaml.safe_load(redacted)
    assert data["password"] == REMOVED and data["chpasswd"]["list"] == REMOVED
    assert data["chpasswd"]["users"][1]["password"] == "$6$salt$hashvalue"  # a hash is what replay needs
    assert data["users"][1] == {"name": "dev", "plain_text_passwd": REMOVED, "groups": ["wheel"]}
    assert data["users"][2]["hashed_passwd"] == "$6$salt$otherhash"
    assert data["ssh_keys"] == {"rsa_private": REMOVED, "rsa_public": "ssh-rsa AAAA host"}
    assert data["packages"] == ["vim"]


def test_user_data_without_secrets_is_kept_as_written() -> None:
    text = "#cloud-config\n# my comment\npackages: [vim]\n"
    assert redact_user_data(text) == text


def test_a_multipart_or_broken_document_is_redacted_line_by_line() -> None:
    multipart = ('Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/cloud-config\n\n'
                 "#cloud-config\npassword: plain-Secret-6\nusers:\n  - name: x\n    plain_text_passwd: plain-Secret-7\n"
                 "--b--\n")
    redacted = redact_user_data(multipart)
    assert "plain-Secret-6" not in redacted and "plain-Secret-7" not in redacted and "name: x" in redacted
    broken = "#cloud-config\npassword: plain-Secret-8\n  bad: [indent\n"
    assert "plain-Secret-8" not in redact_user_data(broken)


def test_the_saved_profile_has_no_user_data_password_but_the_profile_itself_keeps_it() -> None:
    profile = profile_from_text(
        "storage: {disks: [{path: /dev/vda}]}\npayload: {repositories: [{name: s, baseurl: 'file:///r'}], "
        "groups: [core]}\ncloud_init:\n  user_data: |\n    #cloud-config\n    password: plain-Secret-9\n")
    assert profile.cloud_init is not None and "plain-Secret-9" in (profile.cloud_init.user_data or "")
    saved = dump_profile(profile, redact=True)
    assert "plain-Secret-9" not in saved and REMOVED in saved
    assert "plain-Secret-9" in dump_profile(profile, redact=False)
    profile_from_text(saved)  # the saved copy still loads (replay)
