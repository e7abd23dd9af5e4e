package main

import "encoding/binary"

// capNetBindService is CAP_NET_BIND_SERVICE's number (linux/capability.h):
// the right to bind ports below 1024.
const capNetBindService = 10

// capabilityXattr is the extended attribute that carries a file's
// capabilities; in a layer it is the PAX record "SCHILY.xattr." + this name.
const capabilityXattr = "security.capability"

// fileCapability encodes a file capability set granting caps as permitted
// and effective ("=+ep"), in the layout the kernel reads from
// security.capability (struct vfs_cap_data, revision 2,
// linux/capability.h): a little-endian magic word with the effective flag,
// then two (permitted, inheritable) pairs of 32-bit words, capabilities 0-31
// first. Revision 2 carries no user namespace owner, so it holds in any
// namespace that maps the file's owner, which revision 3 would pin.
func fileCapability(caps ...int) []byte {
	const (
		revision2 = 0x02000000
		effective = 0x000001
	)
	var permitted [2]uint32
	for _, c := range caps {
		permitted[c/32] |= 1 << (c % 32)
	}
	b := make([]byte, 0, 20)
	b = binary.LittleEndian.AppendUint32(b, revision2|effective)
	for _, p := range permitted {
		b = binary.LittleEndian.AppendUint32(b, p)
		b = binary.LittleEndian.AppendUint32(b, 0) // inheritable
	}
	return b
}
