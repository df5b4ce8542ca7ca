// The test's override of docker-compose.yml (test/deploy.test.ts): every service on the host's
// network, listening on 127.0.0.1 and free ports only (no bridge here: traffic to private addresses is
// not allowed), so REDIS_URL, the listen addresses, the health probes and Prometheus's targets name
// 127.0.0.1 and those ports. Nothing else differs from a deployment with the real images.
// Written as JSON, which is YAML too: no YAML 1.1 surprise (an unquoted `yes` read as true).
export interface DeployPorts {
  redis: number; grpc: number; metrics: number; agentA: number; agentAMetrics: number; agentB: number; agentBMetrics: number; prometheus: number;
  redis1: number; redis2: number; redis3: number; sentinel1: number; sentinel2: number; sentinel3: number;
}

export async function deployPorts(freePort: () => Promise<number>): Promise<DeployPorts> {
  const names = ['redis', 'grpc', 'metrics', 'agentA', 'agentAMetrics', 'agentB', 'agentBMetrics', 'prometheus', 'redis1', 'redis2', 'redis3', 'sentinel1', 'sentinel2', 'sentinel3'] as const;
  const ports: Partial<DeployPorts> = {};
  const taken = new Set<number>();
  for (const n of names) {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    ports[n] = p;
  }
  return ports as DeployPorts;
}

/** Prometheus's config for the test: the repository's rules, the test's targets, short intervals. */
export function testPrometheusConfig(p: DeployPorts): string {
  return stringify({
    global: { scrape_interval: '2s', evaluation_interval: '2s' },
    rule_files: ['/etc/prometheus/alerts.yml'],
    scrape_configs: [
      { job_name: 'ferry-serve', static_configs: [{ targets: [`127.0.0.1:${p.metrics}`] }] },
      { job_name: 'ferry-agent', static_configs: [{ targets: [`127.0.0.1:${p.agentAMetrics}`, `127.0.0.1:${p.agentBMetrics}`] }] },
      { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${p.prometheus}`] }] },
    ],
  });
}

const redisHealth = (port: number) => ({ test: ['CMD', 'redis-cli', '-p', String(port), 'ping'] });

function redisServer(port: number, replicaOf?: number) {
  return {
    network_mode: 'host',
    command: ['redis-server', '--bind', '127.0.0.1', '--port', String(port), '--appendonly', 'yes', '--maxmemory-policy', 'noeviction',
      ...(replicaOf ? ['--replica-announce-ip', '127.0.0.1', '--replicaof', '127.0.0.1', String(replicaOf)] : [])],
    healthcheck: redisHealth(port),
  };
}

function sentinel(port: number, primary: number) {
  return {
    network_mode: 'host',
    environment: { SENTINEL_PORT: String(port), SENTINEL_BIND: '127.0.0.1', SENTINEL_ANNOUNCE: '127.0.0.1', PRIMARY_HOST: '127.0.0.1', PRIMARY_PORT: String(primary) },
  };
}

function agent(listen: number, metrics: number) {
  return {
    network_mode: 'host',
    build: { network: 'host' },
    command: ['agent', `--listen=127.0.0.1:${listen}`, '--allow=dir:/data/main', '--allow=dir:/data/spare', '--token-file=/run/secrets/ferry_token', `--metrics=127.0.0.1:${metrics}`],
    environment: { FERRY_HEALTH_GRPC: `127.0.0.1:${listen}` },
  };
}

export function overrideFile(p: DeployPorts, prometheusConfig: string): string {
  const redisUrl = `redis://127.0.0.1:${p.redis}`;
  return stringify({
    services: {
      redis: { ...redisServer(p.redis) },
      serve: {
        network_mode: 'host',
        build: { network: 'host' },
        command: ['serve', `--grpc=127.0.0.1:${p.grpc}`, '--token-file=/run/secrets/ferry_token', `--metrics=127.0.0.1:${p.metrics}`],
        environment: { REDIS_URL: redisUrl, FERRY_HEALTH_GRPC: `127.0.0.1:${p.grpc}` },
      },
      worker: { network_mode: 'host', build: { network: 'host' }, environment: { REDIS_URL: redisUrl } },
      'agent-a': agent(p.agentA, p.agentAMetrics),
      'agent-b': agent(p.agentB, p.agentBMetrics),
      prometheus: {
        network_mode: 'host',
        command: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus', `--web.listen-address=127.0.0.1:${p.prometheus}`],
        volumes: [`${prometheusConfig}:/etc/prometheus/prometheus.yml:ro`],
        healthcheck: { test: ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${p.prometheus}/-/ready`] },
      },
      'redis-1': redisServer(p.redis1),
      'redis-2': redisServer(p.redis2, p.redis1),
      'redis-3': redisServer(p.redis3, p.redis1),
      'sentinel-1': sentinel(p.sentinel1, p.redis1),
      'sentinel-2': sentinel(p.sentinel2, p.redis1),
      'sentinel-3': sentinel(p.sentinel3, p.redis1),
    },
  });
}

function stringify(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
