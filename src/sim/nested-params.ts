/**
 * The nested world's generator parameters, per RIR, and the figures they are calibrated to
 * (docs/simulator.md, "Nested world", gives the sources and what is not calibrated).
 */
import type { RegistryId } from '../registry/interface.js'

export interface NestParams {
  /**
   * RIR-level allocations/assignments to aim for (the delegated-extended files' ipv4 lines:
   * ARIN ~70–81k, RIPE NCC ~71–87k, APNIC ~49k, LACNIC ~18–19k, AFRINIC ~4.5k). The world cannot
   * have more allocations than ranges, and LACNIC's must be CIDR blocks, so the counts land near.
   */
  allocations: number
  /** share of top-level networks (an allocation's ranges, or an allocation that is one range) with registered children */
  childShare: number
  /** of the top-level networks without children: share that are leaf assignments (PI / direct assignment) */
  leafShare: number
  /** in a node larger than /16: the share of its sixteen slots sub-allocated (containers) */
  bigSlotShare: number
  /** in a node of /16 … /24: the share of its /22 blocks sub-allocated (containers) */
  sub22Share: number
  /** in a node of /16 … /24: the share of its /24s holding customer assignments */
  used24Share: number
  /** in a used /24 that is split: the share of positions holding an assignment */
  fill: number
  /** weights of the assignment sizes /30 … /24 (index 0 = /30, 6 = /24) */
  leafSizes: [number, number, number, number, number, number, number]
  /** share of assignments that are not one CIDR block (RPSL registries only; LACNIC registers CIDRs) */
  nonCidrShare: number
}

/**
 * Calibrated so that the default seed's world enumerates to about: RIPE NCC 4.2 M networks,
 * APNIC 1.1 M, AFRINIC 0.15–0.17 M (the 2020 database dumps' inetnum counts), ARIN 2.0 M and
 * LACNIC 0.3 M (not published: chosen, see docs/simulator.md).
 */
export const NEST_PARAMS: Record<RegistryId, NestParams> = {
  arin: { allocations: 66_000, childShare: 0.30, leafShare: 0.35, bigSlotShare: 0.45, sub22Share: 0.04, used24Share: 0.175, fill: 0.55, leafSizes: [0.04, 0.34, 0.16, 0.12, 0.08, 0.06, 0.20], nonCidrShare: 0 },
  ripe: { allocations: 78_000, childShare: 0.55, leafShare: 0.30, bigSlotShare: 0.55, sub22Share: 0.03, used24Share: 0.28, fill: 0.60, leafSizes: [0.02, 0.36, 0.18, 0.12, 0.08, 0.06, 0.18], nonCidrShare: 0.03 },
  apnic: { allocations: 44_000, childShare: 0.30, leafShare: 0.40, bigSlotShare: 0.45, sub22Share: 0.02, used24Share: 0.17, fill: 0.55, leafSizes: [0.02, 0.30, 0.18, 0.14, 0.10, 0.06, 0.20], nonCidrShare: 0.02 },
  lacnic: { allocations: 8_000, childShare: 0.20, leafShare: 0.40, bigSlotShare: 0.40, sub22Share: 0.03, used24Share: 0.25, fill: 0.50, leafSizes: [0.02, 0.34, 0.18, 0.14, 0.10, 0.06, 0.16], nonCidrShare: 0 },
  afrinic: { allocations: 2_500, childShare: 0.35, leafShare: 0.35, bigSlotShare: 0.45, sub22Share: 0.03, used24Share: 0.115, fill: 0.55, leafSizes: [0.08, 0.32, 0.16, 0.12, 0.08, 0.06, 0.18], nonCidrShare: 0.02 }
}

/** Deepest generated level below a top-level network (containers nest at most this deep). */
export const MAX_GENERATED_DEPTH = 5

/** The calibrated parameters with `density` (0–1] of the customer assignments (SimulatorOptions.leafDensity). */
export function nestParamsWithDensity (density: number): Record<RegistryId, NestParams> {
  if (density === 1) return NEST_PARAMS
  return Object.fromEntries(Object.entries(NEST_PARAMS).map(([id, p]) => [id, { ...p, used24Share: p.used24Share * density }])) as Record<RegistryId, NestParams>
}
