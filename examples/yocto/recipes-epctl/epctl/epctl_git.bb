SUMMARY = "epctl: probe, configure and watch Linux PCI endpoint boards"
DESCRIPTION = "epctl drives the kernel's PCI endpoint framework through configfs and sysfs. \
This recipe installs it as one self-contained JavaScript file run by Node.js (/usr/bin/epctl), \
the systemd unit of its agent (epctl.service) and the agent's config (/etc/epctl/epctl.yaml)."
HOMEPAGE = "https://github.com/example/epctl"
# package.json says "UNLICENSED" (an in-house tool): CLOSED needs no LIC_FILES_CHKSUM. Put the
# real license and its checksum here when epctl gets one.
LICENSE = "CLOSED"

# Why the bundle is not built here: epctl is built with esbuild from npm packages. An offline
# build (BB_NO_NETWORK, a download mirror) cannot run `npm ci`; the npm shrinkwrap fetcher
# (npmsw://, inherit npm) could fetch the packages into DL_DIR, but esbuild itself is a native
# binary chosen per host by npm's optionalDependencies (@esbuild/linux-x64, …), which the npm
# class, built for the target, resolves for the wrong machine. The bundle is plain JavaScript
# with no native parts and the same on every machine, so it is built once outside BitBake —
# `npm run bundle` in a checkout of SRCREV writes dist/epctl-bundle.cjs — and shipped: copy it
# into files/ beside this recipe (or point SRC_URI at a release asset with its sha256sum).
# From git come the files the bundle does not hold: the systemd unit.
SRC_URI = "git://github.com/example/epctl.git;protocol=https;branch=main \
           file://epctl-bundle.cjs \
           file://epctl.yaml \
           "
# The commit the bundle was built from (`git rev-parse HEAD` where `npm run bundle` ran).
SRCREV = "0000000000000000000000000000000000000000"
PV = "0.1.0+git"
S = "${WORKDIR}/git"

# JavaScript only: one package for every machine; Node.js comes from meta-oe (nodejs).
inherit allarch systemd

# The bundle runs with a plain `node` (20 or later): its #! line is /usr/bin/env node.
RDEPENDS:${PN} = "nodejs"

# packaging/epctl.service: ExecStart=/usr/bin/epctl agent -c /etc/epctl/epctl.yaml.
SYSTEMD_SERVICE:${PN} = "epctl.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

# The board's config: an upgrade keeps the one edited on the board.
CONFFILES:${PN} = "${sysconfdir}/epctl/epctl.yaml"

do_configure[noexec] = "1"
do_compile[noexec] = "1"

# Files from SRC_URI's file:// entries are in UNPACKDIR (OE-Core 5.1 styhead and later); the
# git checkout is S. Scarthgap (5.0) has no UNPACKDIR and unpacks into WORKDIR: the weak default
# below covers it and changes nothing on later releases.
UNPACKDIR ??= "${WORKDIR}"

do_install() {
    install -d ${D}${bindir}
    install -m 0755 ${UNPACKDIR}/epctl-bundle.cjs ${D}${bindir}/epctl

    install -d ${D}${systemd_system_unitdir}
    install -m 0644 ${S}/packaging/epctl.service ${D}${systemd_system_unitdir}/epctl.service

    install -d ${D}${sysconfdir}/epctl
    install -m 0644 ${UNPACKDIR}/epctl.yaml ${D}${sysconfdir}/epctl/epctl.yaml
}

FILES:${PN} += "${systemd_system_unitdir}/epctl.service"
