package io.sluice.services;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * What the Sluice embedded Elasticsearch launchers (7.17, 8.x and 9.x) do the same way. It uses no
 * Elasticsearch types, so the 7.17 launcher compiles it too and every node gets the same home layout,
 * ports, node settings and lifecycle.
 *
 * Ports: system properties sluice.es.http.port / sluice.es.transport.port, else env SLUICE_ES_PORT /
 * SLUICE_ES_TRANSPORT_PORT, else 9200 / 9300. Extra node settings: env SLUICE_ES_SETTINGS, comma-separated
 * key=value pairs (values cannot contain commas). test/services/lib/elasticsearch.sh sets these for each node.
 */
public final class NodeLauncher {

    /** The version-specific part: start the node and answer its HTTP address, stop it. */
    public interface Lifecycle {
        String start() throws Exception;

        void stop() throws Exception;
    }

    private NodeLauncher() {}

    /** PATH_HOME from the command line, with the folders a node expects created. */
    public static Path home(String[] args, Class<?> main) throws java.io.IOException {
        if (args.length != 1) {
            System.err.println("usage: " + main.getSimpleName() + " PATH_HOME");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath().normalize();
        for (String dir : List.of("config", "data", "logs", "plugins", "modules", "tmp")) {
            Files.createDirectories(home.resolve(dir));
        }
        return home;
    }

    /** A single-node cluster on 127.0.0.1 with its files under home, then SLUICE_ES_SETTINGS on top. */
    public static Map<String, String> settings(Path home) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("path.home", home.toString());
        s.put("path.data", home.resolve("data").toString());
        s.put("path.logs", home.resolve("logs").toString());
        s.put("cluster.name", "sluice");
        s.put("node.name", "sluice-es");
        s.put("discovery.type", "single-node");
        s.put("network.host", "127.0.0.1");
        s.put("http.port", Integer.toString(port("sluice.es.http.port", "SLUICE_ES_PORT", 9200)));
        s.put("transport.port", Integer.toString(port("sluice.es.transport.port", "SLUICE_ES_TRANSPORT_PORT", 9300)));
        // A test machine's disk is often more than 90 % full; the watermarks would then block writes.
        s.put("cluster.routing.allocation.disk.threshold_enabled", "false");
        s.put("node.store.allow_mmap", "false");
        String extra = System.getenv("SLUICE_ES_SETTINGS");
        if (extra != null) {
            for (String pair : extra.split(",")) {
                if (pair.isBlank()) continue;
                int eq = pair.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("SLUICE_ES_SETTINGS: expected key=value, got [" + pair + "]");
                s.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
            }
        }
        return s;
    }

    /**
     * Starts the node, prints "SLUICE_ES_READY ..." on stdout once HTTP is up, and returns only after
     * SIGTERM/SIGINT has stopped it through a shutdown hook.
     */
    public static void run(Lifecycle node) throws Exception {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.stop();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                org.apache.logging.log4j.LogManager.shutdown();
                stopped.countDown();
            }
        }, "sluice-es-shutdown"));

        String http = node.start();
        System.out.println("SLUICE_ES_READY http=http://" + http + " pid=" + ProcessHandle.current().pid());
        System.out.flush();

        // Elasticsearch threads are daemons: keep the JVM alive until the shutdown hook has run.
        stopped.await();
    }

    private static int port(String property, String env, int fallback) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) value = System.getenv(env);
        return value == null || value.isBlank() ? fallback : Integer.parseInt(value.trim());
    }
}
