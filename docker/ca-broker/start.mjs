// Starts the CA broker with the compose lab's configuration. The broker signs through OpenBao's SSH
// engine (vault backend), logging in with the exchanged token it is handed: it holds no CA key here.
const config = process.env.NETWARD_CA_BROKER_CONFIG ?? '/etc/netward/ca-broker.json';
process.argv = [process.argv[0], '/app/netward-ca-broker.js', 'serve', '--config', config];
await import('/app/netward-ca-broker.js');
