# An Azure-ready fixed VHD from the installer ISO and a profile, unattended, with Packer's QEMU builder
# (HCL2; Packer 1.6.6 as Debian packages it, and later). Packer serves http/ itself. QEMU boots the ISO's own
# kernel and initramfs directly (-kernel/-initrd, copied out of the ISO first), with the ISO attached as the
# live medium and inst.profile= pointing at Packer's server: no boot menu, no typed keys. See docs/fleet.md.
# Needs qemu-system-x86, qemu-utils and busybox on the machine that runs Packer.
#
#   make packer                      # the ISO, its kernel and initramfs copied out, then packer build
#   packer build -var iso=build/azl-installer.iso -var kernel=K -var initrd=I iso/packer/azl-installer.pkr.hcl
#
# Azure VM Image Builder runs Packer too: the same profile and ISO with its own source (docs/fleet.md).

variable "iso" {
  type        = string
  description = "the installer ISO (make iso)"
}

variable "iso_checksum" {
  type        = string
  default     = "none"
  description = "sha256:HEX of the ISO, or none"
}

variable "kernel" {
  type        = string
  default     = "build/packer-boot/vmlinuz"
  description = "the ISO's /live/vmlinuz, copied out (make packer does)"
}

variable "initrd" {
  type        = string
  default     = "build/packer-boot/initrd.img"
  description = "the ISO's /live/initrd.img, copied out (make packer does)"
}

variable "profile" {
  type        = string
  default     = "azl-vm.yaml"
  description = "the profile in http/ the installer runs"
}

variable "http_directory" {
  type        = string
  default     = "iso/packer/http"
  description = "served by Packer to the installer (the profile and anything it names over HTTP)"
}

variable "http_port" {
  type        = number
  default     = 8618
  description = "the port of Packer's HTTP server on 127.0.0.1; the guest reaches it as 10.0.2.100:PORT"
}

variable "disk_mib" {
  type        = number
  default     = 8192
  description = "the disk's size in MiB: the VHD's virtual size is this whole number of MiB, as Azure requires"
}

variable "output_directory" {
  type    = string
  default = "build/packer"
}

variable "accelerator" {
  type        = string
  default     = "kvm"
  description = "kvm, or tcg where there is no KVM (minutes longer)"
}

variable "cpus" {
  type        = number
  default     = 2
  description = "guest CPUs; without KVM at most the host's cores divided by the guests running at once"
}

variable "install_timeout" {
  type    = string
  default = "90m"
}

source "qemu" "azl" {
  iso_url           = var.iso
  iso_checksum      = var.iso_checksum
  output_directory  = var.output_directory
  vm_name           = "azl.raw"
  format            = "raw"
  disk_size         = "${var.disk_mib}M"
  disk_interface    = "virtio"
  net_device        = "virtio-net"
  accelerator       = var.accelerator
  memory            = 1536
  cpus              = var.cpus
  headless          = true
  http_directory    = var.http_directory
  http_bind_address = "127.0.0.1"
  http_port_min     = var.http_port
  http_port_max     = var.http_port
  # No SSH: the installer powers the machine off when the install ends, which is Packer's signal.
  communicator     = "none"
  shutdown_timeout = var.install_timeout
  # No boot_command: typing at the ISO's boot menu raced its 3-second countdown under load (twice the
  # interactive entry booted, no typed key taken). The kernel is booted directly instead, with the
  # arguments of the ISO's menu (iso/grubcfg.py) and the profile; live-boot finds its root on the CD-ROM.
  boot_wait = "0s"
  qemuargs = [
    ["-kernel", var.kernel],
    ["-initrd", var.initrd],
    ["-append", "boot=live console=tty1 console=ttyS0,115200n8 inst.profile=http://10.0.2.100:${var.http_port}/${var.profile}"],
    ["-serial", "file:${var.output_directory}-serial.log"],
    # QEMU's user network, restricted: the guest reaches nothing but Packer's HTTP server, forwarded from
    # 10.0.2.100 to the host's loopback (a busybox nc per connection), not the host's other networks.
    ["-netdev", "user,id=user.0,restrict=on,guestfwd=tcp:10.0.2.100:${var.http_port}-cmd:busybox nc 127.0.0.1 ${var.http_port}"],
  ]
}

build {
  sources = ["source.qemu.azl"]

  # A fixed VHD (what Azure takes), its virtual size the disk's whole MiB.
  post-processor "shell-local" {
    inline = [
      "qemu-img convert -f raw -O vpc -o subformat=fixed,force_size ${var.output_directory}/azl.raw ${var.output_directory}/azl.vhd",
      "qemu-img info ${var.output_directory}/azl.vhd",
    ]
  }
}
