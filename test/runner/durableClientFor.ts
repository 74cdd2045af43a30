export { durableClientFor } from '../../dev/soak/durableClientFor';
