/** The generated views, by ABI and NDIS revision. */
import type { Abi } from '../layout/abi.js';
import type { NdisRevision } from '../layout/descriptor.js';
import * as x64ndis60 from './generated/x64-ndis60.js';
import * as x64ndis61 from './generated/x64-ndis61.js';
import * as x86ndis60 from './generated/x86-ndis60.js';
import * as x86ndis61 from './generated/x86-ndis61.js';

/** Every view class of one ABI and revision, keyed by C structure name. */
export type ViewClasses = typeof x64ndis61.STRUCT_VIEWS;
export type StructViewName = keyof ViewClasses;
/** An instance of the view of structure N. */
export type ViewOf<N extends StructViewName> = InstanceType<ViewClasses[N]>;

const SETS: Record<string, ViewClasses> = {
  'x64/6.0': x64ndis60.STRUCT_VIEWS as unknown as ViewClasses,
  'x64/6.1': x64ndis61.STRUCT_VIEWS,
  'x86/6.0': x86ndis60.STRUCT_VIEWS as unknown as ViewClasses,
  'x86/6.1': x86ndis61.STRUCT_VIEWS as unknown as ViewClasses,
};

/** The view classes for an ABI and NDIS revision: `new (viewsFor(X64, '6.1').TCP_OFFLOAD_STATE_CONST)()`. */
export function viewsFor(abi: Abi, ndis: NdisRevision = '6.1'): ViewClasses {
  return SETS[`${abi.name}/${ndis}`]!;
}
