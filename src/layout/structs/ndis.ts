import {
  NDIS_HANDLE,
  NDIS_PORT_NUMBER,
  NDIS_STATUS,
  PVOID,
  UCHAR,
  ULONG,
  USHORT,
  array,
  field,
  pointer,
  struct,
  structRef,
} from '../descriptor.js';

/** objectheader.h */
export const NDIS_OBJECT_HEADER = struct(
  'NDIS_OBJECT_HEADER',
  'The header every NDIS object starts with; in a block list, Type is the OFFLOAD_STATE_TYPE and Size the block size.',
  [field('Type', UCHAR), field('Revision', UCHAR), field('Size', USHORT)],
);

/** ndischimney.h: the block a miniport receives in MiniportInitiateOffload and its siblings. */
export const NDIS_MINIPORT_OFFLOAD_BLOCK_LIST = struct(
  'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST',
  'One node of the offload state tree as the offload target sees it; state structures follow it in memory.',
  [
    field('Header', structRef('NDIS_OBJECT_HEADER')),
    field('NextBlock', pointer('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST')),
    field('DependentBlockList', pointer('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST')),
    field('Status', NDIS_STATUS),
    field('NdisReserved', array(PVOID, 2)),
    field('MiniportOffloadContext', pointer('PVOID')),
    field('NdisOffloadHandle', NDIS_HANDLE),
    field('ProtocolReserved', array(PVOID, 2)),
    field('MiniportReserved', array(PVOID, 2)),
    field('ImReserved', array(PVOID, 2)),
    field('Scratch', array(PVOID, 2)),
    field('SourceHandle', PVOID),
    field('PortNumber', NDIS_PORT_NUMBER),
    field('NetBufferListChain', pointer('NET_BUFFER_LIST')),
  ],
);

/** ndischimney.h: the protocol-side twin, the same size; intermediate drivers reuse one as the other. */
export const NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST = struct(
  'NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST',
  'The protocol-side twin of the miniport block list, with the same size.',
  [
    field('Header', structRef('NDIS_OBJECT_HEADER')),
    field('NextBlock', pointer('NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST')),
    field('DependentBlockList', pointer('NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST')),
    field('Status', NDIS_STATUS),
    field('NdisReserved', array(PVOID, 3)),
    field('OffloadHandle', pointer('NDIS_OFFLOAD_HANDLE')),
    field('ProtocolReserved', array(PVOID, 2)),
    field('MiniportReserved', array(PVOID, 2)),
    field('ImReserved', array(PVOID, 2)),
    field('Scratch', array(PVOID, 2)),
    field('SourceHandle', PVOID),
    field('PortNumber', NDIS_PORT_NUMBER),
    field('NetBufferListChain', pointer('NET_BUFFER_LIST')),
  ],
);

/** ndischimney.h: the first member of every state structure. */
export const OFFLOAD_STATE_HEADER = struct(
  'OFFLOAD_STATE_HEADER',
  'The first member of every state structure: its total Length, header included.',
  [field('Length', ULONG), field('RecognizedOptions', ULONG)],
);
