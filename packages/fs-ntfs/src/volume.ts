import { FormatError, LimitError, UnsupportedError, nullLogger, hex, type Logger } from '@guestkit/disk/binary';
import type { BlockDevice } from '@guestkit/disk';
import { NtfsCode, NtfsLimits } from './errors.js';
import { decodeBootSector, serialToUuid, type BootSector } from './layout/boot-sector.js';
import { AttrType, SystemFile, VOLUME_INFO } from './layout/mft-record.js';
import { MftRecord, type AttrRecord } from './record/mft-record.js';
import { AttrStream, type StreamInfo } from './attribute/data-stream.js';
import { buildStreamInfo, checkExtension, decodeAttrList, type AttrListEntry, type FileView } from './attribute/file-attrs.js';
import { UpCase } from './index/upcase.js';
import { decodeUtf16le } from '@guestkit/disk/binary';

/** Records kept decoded in memory (a few MiB for 1 KiB records). */
const RECORD_CACHE = 8192;

/**
 * The volume layer: geometry from the boot sector, the $MFT found through its own runlist (and
 * attribute list), a cache of fixed-up MFT records, file views that follow attribute lists, and
 * the $UpCase table and $Volume facts. Everything above it (directories, files, writes) goes
 * through here.
 */
export class NtfsVolume {
  readonly device: BlockDevice;
  readonly boot: BootSector;
  readonly clusterSize: number;
  readonly clusterCount: number;
  readonly recordSize: number;
  readonly indexRecordSize: number;
  readonly logger: Logger;
  readonly name: string;
  upcase!: UpCase;
  mft!: AttrStream;
  /** $VOLUME_NAME. */
  label = '';
  majorVersion = 0;
  minorVersion = 0;
  volumeFlags = 0;

  private records = new Map<number, MftRecord>();
  private views = new Map<number, FileView>();

  private constructor(dev: BlockDevice, boot: BootSector, logger: Logger) {
    this.device = dev;
    this.boot = boot;
    this.clusterSize = boot.clusterSize;
    this.clusterCount = boot.clusterCount;
    this.recordSize = boot.mftRecordSize;
    this.indexRecordSize = boot.indexRecordSize;
    this.logger = logger;
    this.name = dev.name;
  }

  get uuid(): string {
    return serialToUuid(this.boot.serial);
  }

  /**
   * Open and validate the volume: boot sector, $MFT, $UpCase, $Volume.
   * @throws FormatError (not NTFS, corrupt system files), UnsupportedError, LimitError, LoopError
   */
  static open(dev: BlockDevice, logger: Logger = nullLogger): NtfsVolume {
    if (dev.size < 512) throw new FormatError(NtfsCode.BadBootSector, `${dev.name}: ${dev.size} bytes is too small for NTFS`, { device: dev.name });
    const bs = new Uint8Array(512);
    dev.readAt(0, bs);
    const boot = decodeBootSector(bs, dev.size, dev.name);
    const vol = new NtfsVolume(dev, boot, logger.child({ component: 'ntfs' }));
    vol.loadMft();
    vol.loadUpcase();
    vol.loadVolumeInfo();
    vol.logger.debug({ clusterSize: vol.clusterSize, recordSize: vol.recordSize, version: `${vol.majorVersion}.${vol.minorVersion}`, records: vol.recordCount }, 'ntfs volume opened');
    return vol;
  }

  /** Re-read $MFT's own mapping (after the writer grew it) and drop every cache. */
  reload(): void {
    this.records.clear();
    this.views.clear();
    this.loadMft();
  }

  /** Number of MFT records the $MFT data holds. */
  get recordCount(): number {
    return Math.floor(this.mft.size / this.recordSize);
  }

  private loadMft(): void {
    const cs = this.clusterSize;
    const raw = new Uint8Array(this.recordSize);
    const at = this.boot.mftLcn * cs;
    this.device.readAt(at, raw);
    const rec0 = MftRecord.parse(raw, 0, `${this.name} $MFT`, at);
    const where = `${this.name} $MFT`;
    // the first extent of $MFT:$DATA is always in record 0; extension records may hold the rest
    const records = new Map<number, MftRecord>([[0, rec0]]);
    const listAttr = rec0.find(AttrType.AttributeList);
    let attrs: AttrRecord[] = rec0.attributes.slice();
    const bootstrap = (): AttrStream => {
      const info = buildStreamInfo({ base: rec0, attrs, records }, AttrType.Data, '', this.clusterCount, where);
      if (!info || info.resident) throw new FormatError(NtfsCode.MissingSystemFile, `${where}: no non-resident $DATA`, { where });
      return new AttrStream(this, { ...info, dataSize: Math.max(info.dataSize, 0) }, where);
    };
    if (listAttr) {
      const list = this.readAttrListValue(rec0, listAttr, records);
      const dataExt = list.filter((e) => e.type === AttrType.Data && e.name === '' && e.record !== 0).sort((a, b) => a.lowestVcn - b.lowestVcn);
      attrs = rec0.attributes.filter((a) => a.type !== AttrType.Data || a.name !== '' );
      attrs.push(...rec0.attributes.filter((a) => a.type === AttrType.Data && a.name === ''));
      const seen = new Set<number>();
      for (const e of dataExt) {
        if (records.has(e.record)) continue;
        // read the extension record through the part of $MFT mapped so far
        const partial = bootstrapPartial(rec0, attrs, records, this.clusterCount, where);
        const off = e.record * this.recordSize;
        if (!partial || off + this.recordSize > partialMappedBytes(partial, cs)) {
          throw new FormatError(NtfsCode.BadAttributeList, `${where}: extension record ${e.record} lies outside the mapped part of $MFT`, { where, record: e.record });
        }
        const buf = new Uint8Array(this.recordSize);
        new AttrStream(this, { ...partial, dataSize: partialMappedBytes(partial, cs), initializedSize: partialMappedBytes(partial, cs) }, where).read(off, buf);
        const ext = MftRecord.parse(buf, e.record, where, off);
        checkExtension(rec0, ext, seen);
        seen.add(e.record);
        records.set(e.record, ext);
        attrs.push(...ext.attributes.filter((a) => a.type === AttrType.Data && a.name === ''));
      }
    }
    this.mft = bootstrap();
    if (this.mft.size < this.recordSize * SystemFile.FirstUser) {
      throw new FormatError(NtfsCode.MissingSystemFile, `${where}: $DATA holds ${this.mft.size} bytes, fewer than the 16 system records`, { where });
    }
    this.records.set(0, rec0);
  }

  private readAttrListValue(base: MftRecord, a: AttrRecord, records: Map<number, MftRecord>): AttrListEntry[] {
    const where = `attribute list of record ${base.recordNumber}`;
    if (!a.nonResident) return decodeAttrList(base.value(a).slice(), where);
    const info = buildStreamInfo({ base, attrs: [a], records }, AttrType.AttributeList, a.name, this.clusterCount, where);
    if (!info) return [];
    if (info.dataSize > NtfsLimits.maxMetadataBytes) throw new LimitError(NtfsCode.Limit, `${where} is ${info.dataSize} bytes`, { where });
    const buf = new Uint8Array(info.dataSize);
    new AttrStream(this, info, where).read(0, buf);
    return decodeAttrList(buf, where);
  }

  /**
   * Read (or fetch from cache) MFT record `n`, fixed up and validated.
   * @throws FormatError, OutOfRangeError
   */
  record(n: number): MftRecord {
    const hit = this.records.get(n);
    if (hit) {
      this.records.delete(n);
      this.records.set(n, hit);
      return hit;
    }
    if (!Number.isInteger(n) || n < 0 || n >= this.recordCount) {
      throw new FormatError(NtfsCode.BadRecord, `${this.name}: MFT record ${n} is past the end of $MFT (${this.recordCount} records)`, { record: n, records: this.recordCount });
    }
    const buf = new Uint8Array(this.recordSize);
    this.mft.read(n * this.recordSize, buf);
    const rec = MftRecord.parse(buf, n, this.name, n * this.recordSize);
    this.cacheRecord(rec);
    return rec;
  }

  /** Replace a cached record (the writer calls this after changing one). */
  cacheRecord(rec: MftRecord): void {
    this.records.set(rec.recordNumber, rec);
    this.views.delete(rec.baseRecord || rec.recordNumber);
    if (this.records.size > RECORD_CACHE) this.records.delete(this.records.keys().next().value as number);
  }

  /** Forget cached views (after writes). */
  invalidate(record?: number): void {
    if (record === undefined) {
      this.views.clear();
      this.records.clear();
    } else {
      const r = this.records.get(record);
      this.views.delete(record);
      this.records.delete(record);
      if (r && r.baseRecord) this.views.delete(r.baseRecord);
      // any cached view that includes this record as an extension goes too
      for (const [k, v] of this.views) if (v.records.has(record)) this.views.delete(k);
    }
  }

  /**
   * A base record with all its attributes, following $ATTRIBUTE_LIST into extension records.
   * @throws FormatError, LoopError, LimitError
   */
  view(n: number): FileView {
    const hit = this.views.get(n);
    if (hit) return hit;
    const base = this.record(n);
    const listAttr = base.find(AttrType.AttributeList);
    let view: FileView;
    if (!listAttr) view = { base, attrs: base.attributes, records: new Map([[n, base]]) };
    else {
      const records = new Map<number, MftRecord>([[n, base]]);
      const list = this.readAttrListValue(base, listAttr, records);
      const seen = new Set<number>();
      const attrs: AttrRecord[] = [];
      for (const e of list) {
        let rec = records.get(e.record);
        if (!rec) {
          if (records.size > NtfsLimits.maxExtensionRecords) throw new LimitError(NtfsCode.Limit, `record ${n}: too many extension records`, { record: n });
          rec = this.record(e.record);
          checkExtension(base, rec, seen);
          seen.add(e.record);
          records.set(e.record, rec);
        }
        const a = rec.attributes.find((x) => x.type === e.type && x.name === e.name && x.instance === e.instance && (!x.nonResident || x.lowestVcn === e.lowestVcn));
        if (!a) {
          throw new FormatError(NtfsCode.BadAttributeList, `record ${n}: attribute list names ${hex(e.type)} "${e.name}" (instance ${e.instance}) in record ${e.record}, which does not hold it`, {
            record: n, extension: e.record,
          });
        }
        if (!attrs.includes(a)) attrs.push(a);
      }
      // attributes of the base record missing from the list are still the file's
      for (const a of base.attributes) if (!attrs.includes(a) && a.type !== AttrType.AttributeList) attrs.push(a);
      attrs.sort((a, b) => a.type - b.type);
      view = { base, attrs, records, attrList: list };
    }
    this.views.set(n, view);
    if (this.views.size > RECORD_CACHE) this.views.delete(this.views.keys().next().value as number);
    return view;
  }

  /** Stream info of one attribute of a file, or undefined when absent. */
  streamInfo(view: FileView, type: number, name = ''): StreamInfo | undefined {
    return buildStreamInfo(view, type, name, this.clusterCount, `record ${view.base.recordNumber} ${hex(type)}${name ? ':' + name : ''}`);
  }

  /** A reader for one attribute of a file, or undefined when absent. */
  stream(view: FileView, type: number, name = ''): AttrStream | undefined {
    const info = this.streamInfo(view, type, name);
    return info ? new AttrStream(this, info, `${this.name} record ${view.base.recordNumber} ${hex(type)}${name ? ':' + name : ''}`) : undefined;
  }

  /** Whole value of a (small) attribute. @throws LimitError above the metadata limit */
  readAll(view: FileView, type: number, name = '', max: number = NtfsLimits.maxMetadataBytes): Uint8Array | undefined {
    const s = this.stream(view, type, name);
    if (!s) return undefined;
    if (s.size > max) throw new LimitError(NtfsCode.Limit, `${s.where} is ${s.size} bytes (limit ${max})`, { where: s.where, size: s.size, limit: max });
    const b = new Uint8Array(s.size);
    s.read(0, b);
    return b;
  }

  private loadUpcase(): void {
    const data = this.readAll(this.view(SystemFile.UpCase), AttrType.Data, '', 1 << 20);
    if (!data || data.length < 2) throw new FormatError(NtfsCode.MissingSystemFile, `${this.name}: $UpCase has no data`, {});
    this.upcase = new UpCase(data);
  }

  private loadVolumeInfo(): void {
    const v = this.view(SystemFile.Volume);
    const info = this.readAll(v, AttrType.VolumeInformation, '', 4096);
    if (!info || info.length < VOLUME_INFO.SIZE) {
      throw new FormatError(NtfsCode.MissingSystemFile, `${this.name}: $Volume has no $VOLUME_INFORMATION`, {});
    }
    this.majorVersion = info[VOLUME_INFO.majorVersion]!;
    this.minorVersion = info[VOLUME_INFO.minorVersion]!;
    this.volumeFlags = info[VOLUME_INFO.flags]! | (info[VOLUME_INFO.flags + 1]! << 8);
    const name = this.readAll(v, AttrType.VolumeName, '', 4096);
    this.label = name ? decodeUtf16le(name) : '';
    if (this.majorVersion < 1 || this.majorVersion > 3) {
      throw new UnsupportedError(NtfsCode.Unsupported, `${this.name}: NTFS version ${this.majorVersion}.${this.minorVersion} is not supported`, { version: `${this.majorVersion}.${this.minorVersion}` });
    }
  }
}

function bootstrapPartial(rec0: MftRecord, attrs: AttrRecord[], records: Map<number, MftRecord>, clusterCount: number, where: string): StreamInfo | undefined {
  // the extents known so far, in VCN order, as long as they continue each other from 0
  const ext = attrs.filter((a) => a.type === AttrType.Data && a.name === '' && a.nonResident).sort((a, b) => a.lowestVcn - b.lowestVcn);
  const prefix: AttrRecord[] = [];
  let next = 0;
  for (const a of ext) {
    if (a.lowestVcn !== next) break;
    prefix.push(a);
    next = a.highestVcn + 1;
  }
  if (prefix.length === 0) return undefined;
  return buildStreamInfo({ base: rec0, attrs: prefix, records }, AttrType.Data, '', clusterCount, where);
}

function partialMappedBytes(info: StreamInfo, clusterSize: number): number {
  const last = info.runs[info.runs.length - 1];
  return last ? (last.vcn + last.length) * clusterSize : 0;
}
