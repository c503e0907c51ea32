import { ByteWriter } from '@guestkit/disk/binary';

/**
 * A self-relative SECURITY_DESCRIPTOR for the root of a new hive: owner BUILTIN\Administrators,
 * group SYSTEM, DACL (container-inherit) SYSTEM and Administrators full control (KEY_ALL_ACCESS),
 * Users read (KEY_READ). SDDL: O:BAG:SYD:(A;CI;KA;;;SY)(A;CI;KA;;;BA)(A;CI;KR;;;BU).
 * Layout: [MS-DTYP] 2.4.6 SECURITY_DESCRIPTOR, 2.4.5 ACL, 2.4.4.2 ACCESS_ALLOWED_ACE, 2.4.2 SID.
 */
export function defaultRootSecurityDescriptor(): Uint8Array {
  const sid = (authority: number, subs: number[]) => {
    const w = ByteWriter.alloc(8 + subs.length * 4);
    w.u8(0, 1).u8(1, subs.length);
    w.u8(7, authority); // 48-bit big-endian identifier authority; all ours fit in the last byte
    subs.forEach((s, i) => w.u32(8 + i * 4, s));
    return w.bytes;
  };
  const SYSTEM = sid(5, [18]);
  const ADMINS = sid(5, [32, 544]);
  const USERS = sid(5, [32, 545]);
  const KEY_ALL_ACCESS = 0x000f003f;
  const KEY_READ = 0x00020019;
  const CONTAINER_INHERIT_ACE = 0x02;
  const aces = [
    { mask: KEY_ALL_ACCESS, sid: SYSTEM },
    { mask: KEY_ALL_ACCESS, sid: ADMINS },
    { mask: KEY_READ, sid: USERS },
  ];
  const aceBytes = aces.map((a) => {
    const w = ByteWriter.alloc(8 + a.sid.length);
    w.u8(0, 0 /* ACCESS_ALLOWED_ACE_TYPE */).u8(1, CONTAINER_INHERIT_ACE).u16(2, 8 + a.sid.length).u32(4, a.mask).bytesAt(8, a.sid);
    return w.bytes;
  });
  const aclSize = 8 + aceBytes.reduce((n, a) => n + a.length, 0);
  const acl = ByteWriter.alloc(aclSize);
  acl.u8(0, 2 /* ACL_REVISION */).u16(2, aclSize).u16(4, aces.length);
  let o = 8;
  for (const a of aceBytes) {
    acl.bytesAt(o, a);
    o += a.length;
  }
  const header = 20;
  const ownerAt = header + aclSize;
  const groupAt = ownerAt + ADMINS.length;
  const sd = ByteWriter.alloc(groupAt + SYSTEM.length);
  sd.u8(0, 1 /* SECURITY_DESCRIPTOR_REVISION */);
  sd.u16(2, 0x8004 /* SE_SELF_RELATIVE | SE_DACL_PRESENT */);
  sd.u32(4, ownerAt).u32(8, groupAt).u32(12, 0).u32(16, header);
  sd.bytesAt(header, acl.bytes).bytesAt(ownerAt, ADMINS).bytesAt(groupAt, SYSTEM);
  return sd.bytes;
}
