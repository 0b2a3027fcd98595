/** What `fn` throws; a test that expected an error fails here, by name, when nothing is thrown. */
export function errorOf<E = Error>(fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    return e as E;
  }
  throw new Error('expected an error, nothing was thrown');
}
