// Generated from the struct descriptors (src/layout) by `npm run generate`: do not edit.
// Views for x64, NDIS 6.0.
import { ViewBase, checkIndex } from '../view-base.js';

/** The header every NDIS object starts with; in a block list, Type is the OFFLOAD_STATE_TYPE and Size the block size. */
export class NDIS_OBJECT_HEADER extends ViewBase {
  static readonly size = 4;
  static readonly align = 2;
  get Type(): number {
    return this.view.getUint8(this.base + 0);
  }
  set Type(v: number) {
    this.view.setUint8(this.base + 0, v);
  }
  get Revision(): number {
    return this.view.getUint8(this.base + 1);
  }
  set Revision(v: number) {
    this.view.setUint8(this.base + 1, v);
  }
  get Size(): number {
    return this.view.getUint16(this.base + 2, true);
  }
  set Size(v: number) {
    this.view.setUint16(this.base + 2, v, true);
  }
}

/** One node of the offload state tree as the offload target sees it; state structures follow it in memory. */
export class NDIS_MINIPORT_OFFLOAD_BLOCK_LIST extends ViewBase {
  static readonly size = 152;
  static readonly align = 8;
  private _Header?: NDIS_OBJECT_HEADER;
  get Header(): NDIS_OBJECT_HEADER {
    return (this._Header ??= new NDIS_OBJECT_HEADER()).at(this.view, this.base + 0);
  }
  get NextBlock(): bigint {
    return this.view.getBigUint64(this.base + 8, true);
  }
  set NextBlock(v: bigint) {
    this.view.setBigUint64(this.base + 8, v, true);
  }
  get DependentBlockList(): bigint {
    return this.view.getBigUint64(this.base + 16, true);
  }
  set DependentBlockList(v: bigint) {
    this.view.setBigUint64(this.base + 16, v, true);
  }
  get Status(): number {
    return this.view.getInt32(this.base + 24, true);
  }
  set Status(v: number) {
    this.view.setInt32(this.base + 24, v, true);
  }
  /** PVOID[2]: element `index`. */
  NdisReserved(index: number): bigint {
    checkIndex('NdisReserved', index, 2);
    return this.view.getBigUint64(this.base + 32 + index * 8, true);
  }
  setNdisReserved(index: number, v: bigint): void {
    checkIndex('NdisReserved', index, 2);
    this.view.setBigUint64(this.base + 32 + index * 8, v, true);
  }
  get MiniportOffloadContext(): bigint {
    return this.view.getBigUint64(this.base + 48, true);
  }
  set MiniportOffloadContext(v: bigint) {
    this.view.setBigUint64(this.base + 48, v, true);
  }
  get NdisOffloadHandle(): bigint {
    return this.view.getBigUint64(this.base + 56, true);
  }
  set NdisOffloadHandle(v: bigint) {
    this.view.setBigUint64(this.base + 56, v, true);
  }
  /** PVOID[2]: element `index`. */
  ProtocolReserved(index: number): bigint {
    checkIndex('ProtocolReserved', index, 2);
    return this.view.getBigUint64(this.base + 64 + index * 8, true);
  }
  setProtocolReserved(index: number, v: bigint): void {
    checkIndex('ProtocolReserved', index, 2);
    this.view.setBigUint64(this.base + 64 + index * 8, v, true);
  }
  /** PVOID[2]: element `index`. */
  MiniportReserved(index: number): bigint {
    checkIndex('MiniportReserved', index, 2);
    return this.view.getBigUint64(this.base + 80 + index * 8, true);
  }
  setMiniportReserved(index: number, v: bigint): void {
    checkIndex('MiniportReserved', index, 2);
    this.view.setBigUint64(this.base + 80 + index * 8, v, true);
  }
  /** PVOID[2]: element `index`. */
  ImReserved(index: number): bigint {
    checkIndex('ImReserved', index, 2);
    return this.view.getBigUint64(this.base + 96 + index * 8, true);
  }
  setImReserved(index: number, v: bigint): void {
    checkIndex('ImReserved', index, 2);
    this.view.setBigUint64(this.base + 96 + index * 8, v, true);
  }
  /** PVOID[2]: element `index`. */
  Scratch(index: number): bigint {
    checkIndex('Scratch', index, 2);
    return this.view.getBigUint64(this.base + 112 + index * 8, true);
  }
  setScratch(index: number, v: bigint): void {
    checkIndex('Scratch', index, 2);
    this.view.setBigUint64(this.base + 112 + index * 8, v, true);
  }
  get SourceHandle(): bigint {
    return this.view.getBigUint64(this.base + 128, true);
  }
  set SourceHandle(v: bigint) {
    this.view.setBigUint64(this.base + 128, v, true);
  }
  get PortNumber(): number {
    return this.view.getUint32(this.base + 136, true);
  }
  set PortNumber(v: number) {
    this.view.setUint32(this.base + 136, v, true);
  }
  get NetBufferListChain(): bigint {
    return this.view.getBigUint64(this.base + 144, true);
  }
  set NetBufferListChain(v: bigint) {
    this.view.setBigUint64(this.base + 144, v, true);
  }
}

/** The protocol-side twin of the miniport block list, with the same size. */
export class NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST extends ViewBase {
  static readonly size = 152;
  static readonly align = 8;
  private _Header?: NDIS_OBJECT_HEADER;
  get Header(): NDIS_OBJECT_HEADER {
    return (this._Header ??= new NDIS_OBJECT_HEADER()).at(this.view, this.base + 0);
  }
  get NextBlock(): bigint {
    return this.view.getBigUint64(this.base + 8, true);
  }
  set NextBlock(v: bigint) {
    this.view.setBigUint64(this.base + 8, v, true);
  }
  get DependentBlockList(): bigint {
    return this.view.getBigUint64(this.base + 16, true);
  }
  set DependentBlockList(v: bigint) {
    this.view.setBigUint64(this.base + 16, v, true);
  }
  get Status(): number {
    return this.view.getInt32(this.base + 24, true);
  }
  set Status(v: number) {
    this.view.setInt32(this.base + 24, v, true);
  }
  /** PVOID[3]: element `index`. */
  NdisReserved(index: number): bigint {
    checkIndex('NdisReserved', index, 3);
    return this.view.getBigUint64(this.base + 32 + index * 8, true);
  }
  setNdisReserved(index: number, v: bigint): void {
    checkIndex('NdisReserved', index, 3);
    this.view.setBigUint64(this.base + 32 + index * 8, v, true);
  }
  get OffloadHandle(): bigint {
    return this.view.getBigUint64(this.base + 56, true);
  }
  set OffloadHandle(v: bigint) {
    this.view.setBigUint64(this.base + 56, v, true);
  }
  /** PVOID[2]: element `index`. */
  ProtocolReserved(index: number): bigint {
    checkIndex('ProtocolReserved', index, 2);
    return this.view.getBigUint64(this.base + 64 + index * 8, true);
  }
  setProtocolReserved(index: number, v: bigint): void {
    checkIndex('ProtocolReserved', index, 2);
    this.view.setBigUint64(this.base + 64 + index * 8, v, true);
  }
  /** PVOID[2]: element `index`. */
  MiniportReserved(index: number): bigint {
    checkIndex('MiniportReserved', index, 2);
    return this.view.getBigUint64(this.base + 80 + index * 8, true);
  }
  setMiniportReserved(index: number, v: bigint): void {
    checkIndex('MiniportReserved', index, 2);
    this.view.setBigUint64(this.base + 80 + index * 8, v, true);
  }
  /** PVOID[2]: element `index`. */
  ImReserved(index: number): bigint {
    checkIndex('ImReserved', index, 2);
    return this.view.getBigUint64(this.base + 96 + index * 8, true);
  }
  setImReserved(index: number, v: bigint): void {
    checkIndex('ImReserved', index, 2);
    this.view.setBigUint64(this.base + 96 + index * 8, v, true);
  }
  /** PVOID[2]: element `index`. */
  Scratch(index: number): bigint {
    checkIndex('Scratch', index, 2);
    return this.view.getBigUint64(this.base + 112 + index * 8, true);
  }
  setScratch(index: number, v: bigint): void {
    checkIndex('Scratch', index, 2);
    this.view.setBigUint64(this.base + 112 + index * 8, v, true);
  }
  get SourceHandle(): bigint {
    return this.view.getBigUint64(this.base + 128, true);
  }
  set SourceHandle(v: bigint) {
    this.view.setBigUint64(this.base + 128, v, true);
  }
  get PortNumber(): number {
    return this.view.getUint32(this.base + 136, true);
  }
  set PortNumber(v: number) {
    this.view.setUint32(this.base + 136, v, true);
  }
  get NetBufferListChain(): bigint {
    return this.view.getBigUint64(this.base + 144, true);
  }
  set NetBufferListChain(v: bigint) {
    this.view.setBigUint64(this.base + 144, v, true);
  }
}

/** The first member of every state structure: its total Length, header included. */
export class OFFLOAD_STATE_HEADER extends ViewBase {
  static readonly size = 8;
  static readonly align = 4;
  get Length(): number {
    return this.view.getUint32(this.base + 0, true);
  }
  set Length(v: number) {
    this.view.setUint32(this.base + 0, v, true);
  }
  get RecognizedOptions(): number {
    return this.view.getUint32(this.base + 4, true);
  }
  set RecognizedOptions(v: number) {
    this.view.setUint32(this.base + 4, v, true);
  }
}

/** Neighbor state that never changes: the source link-layer address and VLAN. */
export class NEIGHBOR_OFFLOAD_STATE_CONST extends ViewBase {
  static readonly size = 44;
  static readonly align = 4;
  private _Header?: OFFLOAD_STATE_HEADER;
  get Header(): OFFLOAD_STATE_HEADER {
    return (this._Header ??= new OFFLOAD_STATE_HEADER()).at(this.view, this.base + 0);
  }
  /** UCHAR[32]: a Uint8Array over the image's bytes (no copy). */
  get DlSourceAddress(): Uint8Array {
    return new Uint8Array(this.view.buffer, this.view.byteOffset + this.base + 8, 32);
  }
  /** Bit-field: bits 0..11 of the ULONG at +0x28. */
  get VlanId(): number {
    return ((this.view.getUint32(this.base + 40, true) >>> 0) & 0xfff);
  }
  set VlanId(v: number) {
    const u = this.view.getUint32(this.base + 40, true);
    this.view.setUint32(this.base + 40, (u & ~0xfff) | ((v << 0) & 0xfff), true);
  }
}

/** Neighbor state the host stack owns and may update. */
export class NEIGHBOR_OFFLOAD_STATE_CACHED extends ViewBase {
  static readonly size = 44;
  static readonly align = 4;
  private _Header?: OFFLOAD_STATE_HEADER;
  get Header(): OFFLOAD_STATE_HEADER {
    return (this._Header ??= new OFFLOAD_STATE_HEADER()).at(this.view, this.base + 0);
  }
  /** UCHAR[32]: a Uint8Array over the image's bytes (no copy). */
  get DlDestinationAddress(): Uint8Array {
    return new Uint8Array(this.view.buffer, this.view.byteOffset + this.base + 8, 32);
  }
  get HostReachabilityDelta(): number {
    return this.view.getUint32(this.base + 40, true);
  }
  set HostReachabilityDelta(v: number) {
    this.view.setUint32(this.base + 40, v, true);
  }
}

/** Neighbor state the offload target owns while offloaded. */
export class NEIGHBOR_OFFLOAD_STATE_DELEGATED extends ViewBase {
  static readonly size = 12;
  static readonly align = 4;
  private _Header?: OFFLOAD_STATE_HEADER;
  get Header(): OFFLOAD_STATE_HEADER {
    return (this._Header ??= new OFFLOAD_STATE_HEADER()).at(this.view, this.base + 0);
  }
  get NicReachabilityDelta(): number {
    return this.view.getUint32(this.base + 8, true);
  }
  set NicReachabilityDelta(v: number) {
    this.view.setUint32(this.base + 8, v, true);
  }
}

/** Path state that never changes: pointers to the source and destination IP address bytes. */
export class PATH_OFFLOAD_STATE_CONST extends ViewBase {
  static readonly size = 24;
  static readonly align = 8;
  private _Header?: OFFLOAD_STATE_HEADER;
  get Header(): OFFLOAD_STATE_HEADER {
    return (this._Header ??= new OFFLOAD_STATE_HEADER()).at(this.view, this.base + 0);
  }
  get SourceAddress(): bigint {
    return this.view.getBigUint64(this.base + 8, true);
  }
  set SourceAddress(v: bigint) {
    this.view.setBigUint64(this.base + 8, v, true);
  }
  get DestinationAddress(): bigint {
    return this.view.getBigUint64(this.base + 16, true);
  }
  set DestinationAddress(v: bigint) {
    this.view.setBigUint64(this.base + 16, v, true);
  }
}

/** Path state the host stack owns: the path MTU. */
export class PATH_OFFLOAD_STATE_CACHED extends ViewBase {
  static readonly size = 12;
  static readonly align = 4;
  private _Header?: OFFLOAD_STATE_HEADER;
  get Header(): OFFLOAD_STATE_HEADER {
    return (this._Header ??= new OFFLOAD_STATE_HEADER()).at(this.view, this.base + 0);
  }
  get PathMtu(): number {
    return this.view.getUint32(this.base + 8, true);
  }
  set PathMtu(v: number) {
    this.view.setUint32(this.base + 8, v, true);
  }
}

/** Path state the offload target owns: only the header. */
export class PATH_OFFLOAD_STATE_DELEGATED extends ViewBase {
  static readonly size = 8;
  static readonly align = 4;
  private _Header?: OFFLOAD_STATE_HEADER;
  get Header(): OFFLOAD_STATE_HEADER {
    return (this._Header ??= new OFFLOAD_STATE_HEADER()).at(this.view, this.base + 0);
  }
}

/** TCP connection state fixed at offload time: ports (network byte order), scaling, MSS. */
export class TCP_OFFLOAD_STATE_CONST extends ViewBase {
  static readonly size = 24;
  static readonly align = 4;
  private _Header?: OFFLOAD_STATE_HEADER;
  get Header(): OFFLOAD_STATE_HEADER {
    return (this._Header ??= new OFFLOAD_STATE_HEADER()).at(this.view, this.base + 0);
  }
  get Flags(): number {
    return this.view.getUint16(this.base + 8, true);
  }
  set Flags(v: number) {
    this.view.setUint16(this.base + 8, v, true);
  }
  get RemotePort(): number {
    return this.view.getUint16(this.base + 10, true);
  }
  set RemotePort(v: number) {
    this.view.setUint16(this.base + 10, v, true);
  }
  /** RemotePort in host order: its bytes are stored in network byte order (big-endian). */
  get RemotePortHost(): number {
    return this.view.getUint16(this.base + 10);
  }
  set RemotePortHost(v: number) {
    this.view.setUint16(this.base + 10, v);
  }
  get LocalPort(): number {
    return this.view.getUint16(this.base + 12, true);
  }
  set LocalPort(v: number) {
    this.view.setUint16(this.base + 12, v, true);
  }
  /** LocalPort in host order: its bytes are stored in network byte order (big-endian). */
  get LocalPortHost(): number {
    return this.view.getUint16(this.base + 12);
  }
  set LocalPortHost(v: number) {
    this.view.setUint16(this.base + 12, v);
  }
  /** Bit-field: bits 0..3 of the UCHAR at +0xe. */
  get SndWindScale(): number {
    return ((this.view.getUint8(this.base + 14) >>> 0) & 0xf);
  }
  set SndWindScale(v: number) {
    const u = this.view.getUint8(this.base + 14);
    this.view.setUint8(this.base + 14, (u & ~0xf) | ((v << 0) & 0xf));
  }
  /** Bit-field: bits 4..7 of the UCHAR at +0xe. */
  get RcvWindScale(): number {
    return ((this.view.getUint8(this.base + 14) >>> 4) & 0xf);
  }
  set RcvWindScale(v: number) {
    const u = this.view.getUint8(this.base + 14);
    this.view.setUint8(this.base + 14, (u & ~0xf0) | ((v << 4) & 0xf0));
  }
  get RemoteMss(): number {
    return this.view.getUint16(this.base + 16, true);
  }
  set RemoteMss(v: number) {
    this.view.setUint16(this.base + 16, v, true);
  }
  get HashValue(): number {
    return this.view.getUint32(this.base + 20, true);
  }
  set HashValue(v: number) {
    this.view.setUint32(this.base + 20, v, true);
  }
}

/** TCP connection state the host stack owns: keep-alive, retransmit limits, flow label, TTL. */
export class TCP_OFFLOAD_STATE_CACHED extends ViewBase {
  static readonly size = 44;
  static readonly align = 4;
  private _Header?: OFFLOAD_STATE_HEADER;
  get Header(): OFFLOAD_STATE_HEADER {
    return (this._Header ??= new OFFLOAD_STATE_HEADER()).at(this.view, this.base + 0);
  }
  get Flags(): number {
    return this.view.getUint16(this.base + 8, true);
  }
  set Flags(v: number) {
    this.view.setUint16(this.base + 8, v, true);
  }
  get InitialRcvWnd(): number {
    return this.view.getUint32(this.base + 12, true);
  }
  set InitialRcvWnd(v: number) {
    this.view.setUint32(this.base + 12, v, true);
  }
  get RcvIndicationSize(): number {
    return this.view.getUint32(this.base + 16, true);
  }
  set RcvIndicationSize(v: number) {
    this.view.setUint32(this.base + 16, v, true);
  }
  get KaProbeCount(): number {
    return this.view.getUint8(this.base + 20);
  }
  set KaProbeCount(v: number) {
    this.view.setUint8(this.base + 20, v);
  }
  get KaTimeout(): number {
    return this.view.getUint32(this.base + 24, true);
  }
  set KaTimeout(v: number) {
    this.view.setUint32(this.base + 24, v, true);
  }
  get KaInterval(): number {
    return this.view.getUint32(this.base + 28, true);
  }
  set KaInterval(v: number) {
    this.view.setUint32(this.base + 28, v, true);
  }
  get MaxRT(): number {
    return this.view.getUint32(this.base + 32, true);
  }
  set MaxRT(v: number) {
    this.view.setUint32(this.base + 32, v, true);
  }
  /** Bit-field: bits 0..19 of the ULONG at +0x24. */
  get FlowLabel(): number {
    return ((this.view.getUint32(this.base + 36, true) >>> 0) & 0xfffff);
  }
  set FlowLabel(v: number) {
    const u = this.view.getUint32(this.base + 36, true);
    this.view.setUint32(this.base + 36, (u & ~0xfffff) | ((v << 0) & 0xfffff), true);
  }
  get TtlOrHopLimit(): number {
    return this.view.getUint8(this.base + 40);
  }
  set TtlOrHopLimit(v: number) {
    this.view.setUint8(this.base + 40, v);
  }
  get TosOrTrafficClass(): number {
    return this.view.getUint8(this.base + 41);
  }
  set TosOrTrafficClass(v: number) {
    this.view.setUint8(this.base + 41, v);
  }
  /** Bit-field: bits 0..2 of the UCHAR at +0x2a. */
  get UserPriority(): number {
    return ((this.view.getUint8(this.base + 42) >>> 0) & 0x7);
  }
  set UserPriority(v: number) {
    const u = this.view.getUint8(this.base + 42);
    this.view.setUint8(this.base + 42, (u & ~0x7) | ((v << 0) & 0x7));
  }
}

/** The unnamed struct type of TCP_OFFLOAD_STATE_DELEGATED.KeepAlive. */
export class TCP_OFFLOAD_STATE_DELEGATED_KeepAlive extends ViewBase {
  static readonly size = 8;
  static readonly align = 4;
  get ProbeCount(): number {
    return this.view.getUint8(this.base + 0);
  }
  set ProbeCount(v: number) {
    this.view.setUint8(this.base + 0, v);
  }
  get TimeoutDelta(): number {
    return this.view.getUint32(this.base + 4, true);
  }
  set TimeoutDelta(v: number) {
    this.view.setUint32(this.base + 4, v, true);
  }
}

/** The unnamed struct type of TCP_OFFLOAD_STATE_DELEGATED.Retransmit. */
export class TCP_OFFLOAD_STATE_DELEGATED_Retransmit extends ViewBase {
  static readonly size = 8;
  static readonly align = 4;
  get Count(): number {
    return this.view.getUint8(this.base + 0);
  }
  set Count(v: number) {
    this.view.setUint8(this.base + 0, v);
  }
  get TimeoutDelta(): number {
    return this.view.getUint32(this.base + 4, true);
  }
  set TimeoutDelta(v: number) {
    this.view.setUint32(this.base + 4, v, true);
  }
}

/** TCP connection state the offload target owns: sequence numbers, windows, timers. DWnd from NDIS 6.1. */
export class TCP_OFFLOAD_STATE_DELEGATED extends ViewBase {
  static readonly size = 120;
  static readonly align = 8;
  private _Header?: OFFLOAD_STATE_HEADER;
  get Header(): OFFLOAD_STATE_HEADER {
    return (this._Header ??= new OFFLOAD_STATE_HEADER()).at(this.view, this.base + 0);
  }
  get State(): number {
    return this.view.getUint32(this.base + 8, true);
  }
  set State(v: number) {
    this.view.setUint32(this.base + 8, v, true);
  }
  get Flags(): number {
    return this.view.getUint16(this.base + 12, true);
  }
  set Flags(v: number) {
    this.view.setUint16(this.base + 12, v, true);
  }
  get RcvNxt(): number {
    return this.view.getUint32(this.base + 16, true);
  }
  set RcvNxt(v: number) {
    this.view.setUint32(this.base + 16, v, true);
  }
  get RcvWnd(): number {
    return this.view.getUint32(this.base + 20, true);
  }
  set RcvWnd(v: number) {
    this.view.setUint32(this.base + 20, v, true);
  }
  get SndUna(): number {
    return this.view.getUint32(this.base + 24, true);
  }
  set SndUna(v: number) {
    this.view.setUint32(this.base + 24, v, true);
  }
  get SndNxt(): number {
    return this.view.getUint32(this.base + 28, true);
  }
  set SndNxt(v: number) {
    this.view.setUint32(this.base + 28, v, true);
  }
  get SndMax(): number {
    return this.view.getUint32(this.base + 32, true);
  }
  set SndMax(v: number) {
    this.view.setUint32(this.base + 32, v, true);
  }
  get SndWnd(): number {
    return this.view.getUint32(this.base + 36, true);
  }
  set SndWnd(v: number) {
    this.view.setUint32(this.base + 36, v, true);
  }
  get MaxSndWnd(): number {
    return this.view.getUint32(this.base + 40, true);
  }
  set MaxSndWnd(v: number) {
    this.view.setUint32(this.base + 40, v, true);
  }
  get SendWL1(): number {
    return this.view.getUint32(this.base + 44, true);
  }
  set SendWL1(v: number) {
    this.view.setUint32(this.base + 44, v, true);
  }
  get CWnd(): number {
    return this.view.getUint32(this.base + 48, true);
  }
  set CWnd(v: number) {
    this.view.setUint32(this.base + 48, v, true);
  }
  get SsThresh(): number {
    return this.view.getUint32(this.base + 52, true);
  }
  set SsThresh(v: number) {
    this.view.setUint32(this.base + 52, v, true);
  }
  get SRtt(): number {
    return this.view.getUint16(this.base + 56, true);
  }
  set SRtt(v: number) {
    this.view.setUint16(this.base + 56, v, true);
  }
  get RttVar(): number {
    return this.view.getUint16(this.base + 58, true);
  }
  set RttVar(v: number) {
    this.view.setUint16(this.base + 58, v, true);
  }
  get TsRecent(): number {
    return this.view.getUint32(this.base + 60, true);
  }
  set TsRecent(v: number) {
    this.view.setUint32(this.base + 60, v, true);
  }
  get TsRecentAge(): number {
    return this.view.getUint32(this.base + 64, true);
  }
  set TsRecentAge(v: number) {
    this.view.setUint32(this.base + 64, v, true);
  }
  get TsTime(): number {
    return this.view.getUint32(this.base + 68, true);
  }
  set TsTime(v: number) {
    this.view.setUint32(this.base + 68, v, true);
  }
  get TotalRT(): number {
    return this.view.getUint32(this.base + 72, true);
  }
  set TotalRT(v: number) {
    this.view.setUint32(this.base + 72, v, true);
  }
  get DupAckCount(): number {
    return this.view.getUint8(this.base + 76);
  }
  set DupAckCount(v: number) {
    this.view.setUint8(this.base + 76, v);
  }
  get SndWndProbeCount(): number {
    return this.view.getUint8(this.base + 77);
  }
  set SndWndProbeCount(v: number) {
    this.view.setUint8(this.base + 77, v);
  }
  private _KeepAlive?: TCP_OFFLOAD_STATE_DELEGATED_KeepAlive;
  get KeepAlive(): TCP_OFFLOAD_STATE_DELEGATED_KeepAlive {
    return (this._KeepAlive ??= new TCP_OFFLOAD_STATE_DELEGATED_KeepAlive()).at(this.view, this.base + 80);
  }
  private _Retransmit?: TCP_OFFLOAD_STATE_DELEGATED_Retransmit;
  get Retransmit(): TCP_OFFLOAD_STATE_DELEGATED_Retransmit {
    return (this._Retransmit ??= new TCP_OFFLOAD_STATE_DELEGATED_Retransmit()).at(this.view, this.base + 88);
  }
  get SendDataHead(): bigint {
    return this.view.getBigUint64(this.base + 96, true);
  }
  set SendDataHead(v: bigint) {
    this.view.setBigUint64(this.base + 96, v, true);
  }
  get SendDataTail(): bigint {
    return this.view.getBigUint64(this.base + 104, true);
  }
  set SendDataTail(v: bigint) {
    this.view.setBigUint64(this.base + 104, v, true);
  }
  get SendBacklogSize(): number {
    return this.view.getUint32(this.base + 96, true);
  }
  set SendBacklogSize(v: number) {
    this.view.setUint32(this.base + 96, v, true);
  }
  get BufferedData(): bigint {
    return this.view.getBigUint64(this.base + 112, true);
  }
  set BufferedData(v: bigint) {
    this.view.setBigUint64(this.base + 112, v, true);
  }
  get ReceiveBacklogSize(): number {
    return this.view.getUint32(this.base + 112, true);
  }
  set ReceiveBacklogSize(v: number) {
    this.view.setUint32(this.base + 112, v, true);
  }
}

/** All of the neighbor state: const, cached and delegated as members of one struct. */
export class NEIGHBOR_OFFLOAD_STATE extends ViewBase {
  static readonly size = 100;
  static readonly align = 4;
  private _ConstState?: NEIGHBOR_OFFLOAD_STATE_CONST;
  get ConstState(): NEIGHBOR_OFFLOAD_STATE_CONST {
    return (this._ConstState ??= new NEIGHBOR_OFFLOAD_STATE_CONST()).at(this.view, this.base + 0);
  }
  private _CachedState?: NEIGHBOR_OFFLOAD_STATE_CACHED;
  get CachedState(): NEIGHBOR_OFFLOAD_STATE_CACHED {
    return (this._CachedState ??= new NEIGHBOR_OFFLOAD_STATE_CACHED()).at(this.view, this.base + 44);
  }
  private _DelegatedState?: NEIGHBOR_OFFLOAD_STATE_DELEGATED;
  get DelegatedState(): NEIGHBOR_OFFLOAD_STATE_DELEGATED {
    return (this._DelegatedState ??= new NEIGHBOR_OFFLOAD_STATE_DELEGATED()).at(this.view, this.base + 88);
  }
}

/** All of the IPv4 path state: const, cached and delegated as members of one struct. */
export class IP4_OFFLOAD_STATE extends ViewBase {
  static readonly size = 48;
  static readonly align = 8;
  private _ConstState?: PATH_OFFLOAD_STATE_CONST;
  get ConstState(): PATH_OFFLOAD_STATE_CONST {
    return (this._ConstState ??= new PATH_OFFLOAD_STATE_CONST()).at(this.view, this.base + 0);
  }
  private _CachedState?: PATH_OFFLOAD_STATE_CACHED;
  get CachedState(): PATH_OFFLOAD_STATE_CACHED {
    return (this._CachedState ??= new PATH_OFFLOAD_STATE_CACHED()).at(this.view, this.base + 24);
  }
  private _DelegatedState?: PATH_OFFLOAD_STATE_DELEGATED;
  get DelegatedState(): PATH_OFFLOAD_STATE_DELEGATED {
    return (this._DelegatedState ??= new PATH_OFFLOAD_STATE_DELEGATED()).at(this.view, this.base + 36);
  }
}

/** All of the IPv6 path state: const, cached and delegated as members of one struct. */
export class IP6_OFFLOAD_STATE extends ViewBase {
  static readonly size = 48;
  static readonly align = 8;
  private _ConstState?: PATH_OFFLOAD_STATE_CONST;
  get ConstState(): PATH_OFFLOAD_STATE_CONST {
    return (this._ConstState ??= new PATH_OFFLOAD_STATE_CONST()).at(this.view, this.base + 0);
  }
  private _CachedState?: PATH_OFFLOAD_STATE_CACHED;
  get CachedState(): PATH_OFFLOAD_STATE_CACHED {
    return (this._CachedState ??= new PATH_OFFLOAD_STATE_CACHED()).at(this.view, this.base + 24);
  }
  private _DelegatedState?: PATH_OFFLOAD_STATE_DELEGATED;
  get DelegatedState(): PATH_OFFLOAD_STATE_DELEGATED {
    return (this._DelegatedState ??= new PATH_OFFLOAD_STATE_DELEGATED()).at(this.view, this.base + 36);
  }
}

/** All of the TCP state: const, cached and delegated as members of one struct. */
export class TCP_OFFLOAD_STATE extends ViewBase {
  static readonly size = 192;
  static readonly align = 8;
  private _ConstState?: TCP_OFFLOAD_STATE_CONST;
  get ConstState(): TCP_OFFLOAD_STATE_CONST {
    return (this._ConstState ??= new TCP_OFFLOAD_STATE_CONST()).at(this.view, this.base + 0);
  }
  private _CachedState?: TCP_OFFLOAD_STATE_CACHED;
  get CachedState(): TCP_OFFLOAD_STATE_CACHED {
    return (this._CachedState ??= new TCP_OFFLOAD_STATE_CACHED()).at(this.view, this.base + 24);
  }
  private _DelegatedState?: TCP_OFFLOAD_STATE_DELEGATED;
  get DelegatedState(): TCP_OFFLOAD_STATE_DELEGATED {
    return (this._DelegatedState ??= new TCP_OFFLOAD_STATE_DELEGATED()).at(this.view, this.base + 72);
  }
}

export const STRUCT_VIEWS = { NDIS_OBJECT_HEADER, NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST, OFFLOAD_STATE_HEADER, NEIGHBOR_OFFLOAD_STATE_CONST, NEIGHBOR_OFFLOAD_STATE_CACHED, NEIGHBOR_OFFLOAD_STATE_DELEGATED, PATH_OFFLOAD_STATE_CONST, PATH_OFFLOAD_STATE_CACHED, PATH_OFFLOAD_STATE_DELEGATED, TCP_OFFLOAD_STATE_CONST, TCP_OFFLOAD_STATE_CACHED, TCP_OFFLOAD_STATE_DELEGATED, NEIGHBOR_OFFLOAD_STATE, IP4_OFFLOAD_STATE, IP6_OFFLOAD_STATE, TCP_OFFLOAD_STATE } as const;
