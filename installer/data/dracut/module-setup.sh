#!/bin/bash
# azl-installer: dracut module "azl-unlock" (unlock keyvault), installed into the target as
# /usr/lib/dracut/modules.d/91azl-unlock and asked for by /etc/dracut.conf.d/50-azl-unlock.conf.
# Brings the Key Vault unlock agent, the keyscript it runs, curl, the vault's CAs, and systemd-networkd
# for the network (rd.neednet=1 on the kernel command line starts it).

check() {
    require_binaries curl cryptsetup base64 ip || return 1
    return 255  # only when a configuration asks for it
}

depends() {
    echo crypt systemd-ask-password systemd-networkd
    return 0
}

install() {
    inst_multiple curl cryptsetup base64 cut date sed tr sleep grep cat rm mkdir ip
    inst_multiple "$systemdutildir"/systemd-reply-password
    inst_script /usr/lib/azl-installer/unlock-keyvault
    inst_script "$moddir"/azl-unlock-agent /usr/lib/azl-installer/azl-unlock-agent
    inst_simple "$moddir"/azl-unlock.path "$systemdsystemunitdir"/azl-unlock.path
    inst_simple "$moddir"/azl-unlock.service "$systemdsystemunitdir"/azl-unlock.service
    $SYSTEMCTL -q --root "$initdir" enable azl-unlock.path
    inst_simple /etc/azl-installer/unlock.conf
    local ca
    for ca in /etc/azl-installer/keyvault-ca.pem /etc/pki/tls/certs/ca-bundle.crt \
        /etc/ssl/certs/ca-certificates.crt; do
        [[ -r $ca ]] && inst_simple "$ca"
    done
    # No console fallback in the profile: nobody but the agent answers systemd-cryptsetup.
    if grep -qx 'AZL_UNLOCK_PASSPHRASE=no' /etc/azl-installer/unlock.conf; then
        mkdir -p "$initdir$systemdsystemconfdir"
        ln -sf /dev/null "$initdir$systemdsystemconfdir"/systemd-ask-password-console.path
        ln -sf /dev/null "$initdir$systemdsystemconfdir"/systemd-ask-password-console.service
    fi
}
