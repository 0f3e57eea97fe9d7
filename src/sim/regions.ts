/**
 * Which RIR serves which country (the RIR service regions), used to decide where transferred
 * legacy space went: a legacy range whose holder is in Africa is AFRINIC's, as 137.158.0.0/16 is.
 * Countries not listed (Europe, the Middle East, Central Asia, "EU") are RIPE NCC's; "ZZ" and
 * unknown codes have no region.
 */
import type { RegistryId } from '../registry/interface.js'

const REGION_COUNTRIES: Record<Exclude<RegistryId, 'ripe'>, string> = {
  arin: 'US CA AG AI AQ BB BL BM BS BV DM GD GP HM JM KN KY LC MF MQ MS PM PR SH TC UM VC VG VI',
  lacnic: 'AR AW BO BQ BR BZ CL CO CR CU CW DO EC FK GF GS GT GY HN HT MX NI PA PE PY SR SV SX TT UY VE',
  afrinic: 'AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW',
  apnic: 'AP AS AU BD BN BT CC CK CN CX FJ FM GU HK ID IN IO JP KH KI KP KR LA LK MH MM MN MO MP MV MY NC NF NP NR NU NZ PF PG PH PK PN PW SB TF TH TK TL TO TV TW VN VU WF WS'
}

const REGION_OF = new Map<string, RegistryId>()
for (const [id, list] of Object.entries(REGION_COUNTRIES)) {
  for (const cc of list.split(' ')) REGION_OF.set(cc, id as RegistryId)
}

/** The RIR whose service region holds country `cc` (ISO alpha-2, upper case); undefined for ZZ / ''. */
export function regionOfCountry (cc: string): RegistryId | undefined {
  if (!/^[A-Z]{2}$/.test(cc) || cc === 'ZZ') return undefined
  return REGION_OF.get(cc) ?? 'ripe'
}
