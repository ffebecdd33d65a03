// The package's components: what schema inference reads (package.json has no main, so this file).
export { Fleet, type FleetArgs } from "./fleet";
