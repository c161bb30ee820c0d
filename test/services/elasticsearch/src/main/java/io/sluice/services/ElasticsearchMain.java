package io.sluice.services;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.node.SluiceEmbeddedNode;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one single-node Elasticsearch cluster inside this JVM, for Sluice's integration tests.
 *
 * <pre>
 * java ... io.sluice.services.ElasticsearchMain PATH_HOME
 * </pre>
 *
 * Ports: system properties sluice.es.http.port / sluice.es.transport.port, else env SLUICE_ES_PORT /
 * SLUICE_ES_TRANSPORT_PORT, else 9200 / 9300. Extra node settings: env SLUICE_ES_SETTINGS, comma-separated
 * key=value pairs (values cannot contain commas). Prints "SLUICE_ES_READY ..." on stdout once HTTP is up.
 * Stops on SIGTERM/SIGINT through a shutdown hook.
 */
public final class ElasticsearchMain {

    private static final List<Class<? extends Plugin>> PLUGINS = List.of(Netty4Plugin.class, RestRootPlugin.class);

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: ElasticsearchMain PATH_HOME");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath().normalize();
        for (String dir : List.of("config", "data", "logs", "plugins", "modules", "tmp")) {
            Files.createDirectories(home.resolve(dir));
        }

        // Route org.elasticsearch.logging to log4j; the log4j configuration itself is log4j2.properties on the class path.
        LogConfigurator.configureESLogging();

        Settings.Builder builder = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "sluice")
            .put("node.name", "sluice-es")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", port("sluice.es.http.port", "SLUICE_ES_PORT", 9200))
            .put("transport.port", port("sluice.es.transport.port", "SLUICE_ES_TRANSPORT_PORT", 9300))
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("node.store.allow_mmap", false);
        String extra = System.getenv("SLUICE_ES_SETTINGS");
        if (extra != null) {
            for (String pair : extra.split(",")) {
                if (pair.isBlank()) continue;
                int eq = pair.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("SLUICE_ES_SETTINGS: expected key=value, got [" + pair + "]");
                builder.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
            }
        }

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            builder.build(),
            Map.of(),
            home.resolve("config"),
            () -> "sluice-es"
        );
        Node node = new SluiceEmbeddedNode(environment, PLUGINS);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    System.err.println("elasticsearch node did not close within 20 s");
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                org.apache.logging.log4j.LogManager.shutdown();
                stopped.countDown();
            }
        }, "sluice-es-shutdown"));

        node.start();
        var http = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
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
