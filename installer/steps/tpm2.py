"""TPM2: seal a key slot of every encrypted volume to the machine's TPM 2.0, for `unlock: [tpm2, ...]`.

Right after the volumes are made (the storage step), before the long payload: a TPM that refuses
stops the install early. The installer system's systemd-cryptenroll adds a key slot and a
'systemd-tpm2' LUKS2 token; at boot the target's systemd-cryptsetup (crypttab tpm2-device=auto,
written by the unlock step) unseals it with no console input. The recovery key keeps its own slot
and stays escrowed as the encryption-keys step says. The TPM is the VM's own (Azure: the vTPM of a
Trusted Launch VM), so the disk unlocks by itself only in the VM it was installed in; anywhere else
the console asks for the passphrase or the recovery key.
"""

from __future__ import annotations

from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.encryption_keys import enabled
from profiles import Profile
from storage.luks import encrypted_partitions


def binding(pcrs: tuple[int, ...]) -> str:
    """What the sealed key depends on, in the plan's words."""
    if not pcrs:
        return "PCRs: none (sealed to this TPM alone: any boot chain on this VM unseals it)"
    named = "+".join(str(p) for p in pcrs)
    note = (" (PCR 7 = the Secure Boot state: safe only when the installer and the installed system boot the "
            "same signed chain; otherwise the first boot cannot unseal and asks on the console)") if 7 in pcrs else ""
    return f"PCRs: {named}{note}"


class Tpm2EnrolStep(Step):
    id = "tpm2-enrol"
    title = "Seal a key slot to the TPM 2.0"
    doing = "enrolling the TPM 2.0"

    def applies(self, profile: Profile) -> bool:
        enc = enabled(profile)
        return enc is not None and "tpm2" in enc.unlock

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        enc = enabled(plan.profile)
        assert enc is not None
        pcrs = "+".join(str(p) for p in enc.tpm2_pcrs)
        return (*(f"systemd-cryptenroll --tpm2-device=auto --tpm2-pcrs={pcrs} {p.device} ({p.mount}): a new key "
                  "slot and a systemd-tpm2 LUKS2 token"
                  for p in encrypted_partitions(plan.storage, enc.volumes)),
                binding(enc.tpm2_pcrs),
                "when the TPM cannot unseal (another VM, a reset vTPM, a changed PCR), the console asks for the "
                "passphrase or the recovery key")

    def run(self, ctx: InstallContext) -> None:
        enc = enabled(ctx.profile)
        assert enc is not None and ctx.encrypted is not None, "the encryption-keys and storage steps run first"
        ctx.encrypted.enroll_tpm2(enc.tpm2_pcrs)
        ctx.events.progress(1.0, f"TPM2 key slot on {len(ctx.encrypted.volumes)} volume(s)")
