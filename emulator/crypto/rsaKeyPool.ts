/**
 * A few RSA-2048 key pairs (public exponent 65537, the default shape) generated ahead of the request that needs
 * them. Generating an RSA-2048 pair costs ~160 ms of CPU on average with a long tail (the prime search: several
 * hundred ms on a loaded machine), which is the emulator's cost, not the modelled HSM's: a create's latency
 * would then be whatever the host's CPU happened to do. Pairs are made one at a time on libuv's thread pool and
 * handed out once each (fresh, never reused), so the total work is the same as generating on demand; only the
 * waiting moves out of the request.
 *
 * Filling starts with the first RSA-2048 request, so an emulator that makes no RSA keys spends nothing on it.
 */
import { generateKeyPair, type KeyObject } from "node:crypto";

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Pairs kept ready: a create burst takes them faster than they refill, so more would only hold memory. */
const POOL_SIZE = 4;

const ready: KeyPair[] = [];
let filling = false;

function generate(): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair("rsa", { modulusLength: 2048, publicExponent: 65537 }, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ privateKey, publicKey })));
  });
}

function fill(): void {
  if (filling || ready.length >= POOL_SIZE) return;
  filling = true;
  generate().then(
    (pair) => {
      ready.push(pair);
      filling = false;
      fill();
    },
    () => {
      // A failed background generation is not a request's failure: the next take generates on demand.
      filling = false;
    },
  );
}

/** A fresh RSA-2048 / 65537 pair: one made ahead when there is one, else generated now; either way the pool refills. */
export async function takeRsa2048Pair(): Promise<KeyPair> {
  const pair = ready.shift();
  const out = pair ?? (await generate());
  fill();
  return out;
}
