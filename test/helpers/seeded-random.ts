// The chaos runner's seeded generator (mulberry32), for tests that print a
// seed so a failing random case can be replayed.
import { Random } from '../../src/chaos/random.js'

export function seededRandom(seed: number): () => number {
  const random = new Random(seed)
  return () => random.next()
}
