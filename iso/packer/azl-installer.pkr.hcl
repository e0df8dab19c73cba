# An Azure-ready fixed VHD from the installer ISO and a profile, unattended, with Packer's QEMU builder
# (HCL2; Packer 1.6.6 as Debian packages it, and later). Packer serves http/ itself; GRUB's command line
# is typed to boot the ISO's live system with inst.profile= pointing there. See docs/fleet.md. Needs qemu-system-x86,
# qemu-utils and busybox on the machine that runs Packer.
#
#   packer build -var iso=build/azl-installer.iso iso/packer/azl-installer.pkr.hcl
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

variable "load_wait" {
  type        = string
  default     = "10s"
  description = "after GRUB's linux and initrd commands: keys typed while it reads the files are lost"
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

variable "menu_wait" {
  type        = number
  default     = 60
  description = "seconds of typing 'c' for GRUB's menu to catch one (it shows once, for 3 s)"
}

variable "boot_wait" {
  type        = string
  default     = "3s"
  description = "how long before typing starts; GRUB's menu waits 3 s, and each typed 'c' is taken back"
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
  boot_wait        = var.boot_wait
  # GRUB: its menu waits 3 s, and when it shows depends on the firmware and the machine's speed (under TCG,
  # beside other guests, more than 20 s after the start). So 'c' (its command line) every second for
  # menu_wait seconds: the first one GRUB reads stops the countdown and opens the command line, the later
  # ones are typed into it; then Esc (back to the menu, the line dropped) and 'c' for an empty one. Before
  # GRUB the firmware ignores the key. Then the live system's kernel with the profile from Packer's server.
  boot_command = [
    join("", [for second in range(var.menu_wait) : "c<wait1>"]),
    "<esc><wait2>c<wait2>",
    "linux /live/vmlinuz boot=live console=tty1 console=ttyS0,115200n8 ",
    "inst.profile=http://10.0.2.100:${var.http_port}/${var.profile}<enter><wait${var.load_wait}>",
    "initrd /live/initrd.img<enter><wait${var.load_wait}>",
    "boot<enter>",
  ]
  qemuargs = [
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
