import { describe, expect, it } from 'vitest';
import { closestNames, didYouMean, editDistance } from '../../src/suggest.js';

describe('closestNames', () => {
  it('counts a transposition as one edit', () => {
    expect(editDistance('bsae', 'base')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('finds a mistyped option, status or WinDbg-style structure name', () => {
    expect(closestNames('--bsae', ['--base', '--root', '--abi'])).toEqual(['--base']);
    expect(closestNames('NDIS_STATUS_SUCESS', ['NDIS_STATUS_FAILURE', 'NDIS_STATUS_SUCCESS', 'NDIS_STATUS_PENDING'])).toEqual(['NDIS_STATUS_SUCCESS']);
    expect(closestNames('_ndis_miniport_offload_block_lis', ['NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', 'TCP_OFFLOAD_STATE_CONST'])).toEqual([
      'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST',
    ]);
    expect(closestNames('SUCCESS', ['NDIS_STATUS_FAILURE', 'NDIS_STATUS_SUCCESS'])).toEqual(['NDIS_STATUS_SUCCESS']);
  });

  it('orders nearest first, limits, and gives nothing for a word far from every name', () => {
    expect(closestNames('rot', ['root', 'rt', 'trot', 'base'], 2)).toEqual(['root', 'rt']);
    expect(closestNames('xyzzy', ['--base', '--root'])).toEqual([]);
    expect(closestNames('', ['a'])).toEqual([]);
  });

  it('phrases the suggestion for a message', () => {
    expect(didYouMean('--bsae', ['--base'])).toBe(' (did you mean --base?)');
    expect(didYouMean('rot', ['root', 'rt', 'trot'])).toBe(' (did you mean root, rt or trot?)');
    expect(didYouMean('xyzzy', ['--base'])).toBe('');
  });
});
