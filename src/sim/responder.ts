/**
 * What a simulated registry answers about an address, whatever the protocol:
 * - the network, when this registry owns the network holding the address;
 * - a redirect / referral to the owner, when another registry owns it (transferred space, or
 *   another RIR's /8: real RIRs redirect such queries by the IANA bootstrap);
 * - not found, for special-purpose and reserved space (no registry has it).
 */
import type { RegistryId } from '../registry/interface.js'
import { describeNetwork, type SimNetwork } from './records.js'
import type { World } from './world.js'

export type Decision =
  | { kind: 'network', network: SimNetwork }
  /**
   * `network` is the owner's; `blockStart`/`blockEnd` the range the referral speaks for: the
   * whole /8 when it is the owner's, else (transferred space) the network itself
   */
  | { kind: 'redirect', to: RegistryId, network: SimNetwork, transferred: boolean, blockStart: number, blockEnd: number }
  | { kind: 'not-found' }

export function decide (world: World, registry: RegistryId, address: number): Decision {
  const i = world.find(address)
  if (i < 0) return { kind: 'not-found' }
  const network = describeNetwork(world, i)
  if (network.registry === registry) return { kind: 'network', network }
  const transferred = network.administeredBy !== network.registry
  const slashEight = address - (address % 2 ** 24)
  return transferred
    ? { kind: 'redirect', to: network.registry, network, transferred, blockStart: network.start, blockEnd: network.end }
    : { kind: 'redirect', to: network.registry, network, transferred, blockStart: slashEight, blockEnd: slashEight + 2 ** 24 - 1 }
}
