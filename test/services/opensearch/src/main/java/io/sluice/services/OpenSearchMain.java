package io.sluice.services;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.ingest.common.IngestCommonPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one single-node OpenSearch cluster inside this JVM, for Sluice's integration tests.
 *
 * <pre>
 * java ... io.sluice.services.OpenSearchMain PATH_HOME
 * </pre>
 *
 * Ports: system properties sluice.opensearch.http.port / sluice.opensearch.transport.port, else 9203 / 9303.
 * Extra node settings: env SLUICE_OPENSEARCH_SETTINGS, comma-separated key=value pairs (values cannot contain
 * commas). Prints "SLUICE_OPENSEARCH_READY ..." on stdout once HTTP is up. Stops on SIGTERM/SIGINT through a
 * shutdown hook.
 */
public final class OpenSearchMain {

    /**
     * The modules of a stock distribution that are published to Maven Central and that an index, mapping,
     * template or pipeline written for OpenSearch may use. GET / is core in OpenSearch (RestMainAction).
     */
    private static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        MapperExtrasPlugin.class,
        ReindexPlugin.class,
        PainlessPlugin.class,
        IngestCommonPlugin.class
    );

    /** OpenSearch 2.x keeps the plugin-list constructor protected (its test framework's MockNode uses it). */
    private static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: OpenSearchMain PATH_HOME");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath().normalize();
        for (String dir : List.of("config", "data", "logs", "plugins", "modules", "tmp")) {
            Files.createDirectories(home.resolve(dir));
        }

        Settings.Builder builder = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "sluice")
            .put("node.name", "sluice-opensearch")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", Integer.getInteger("sluice.opensearch.http.port", 9203))
            .put("transport.port", Integer.getInteger("sluice.opensearch.transport.port", 9303))
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("node.store.allow_mmap", false);
        String extra = System.getenv("SLUICE_OPENSEARCH_SETTINGS");
        if (extra != null) {
            for (String pair : extra.split(",")) {
                if (pair.isBlank()) continue;
                int eq = pair.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("SLUICE_OPENSEARCH_SETTINGS: expected key=value, got [" + pair + "]");
                builder.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
            }
        }
        Settings settings = builder.build();

        // Levels from the settings only; the appenders come from log4j2.properties on the class path.
        LogConfigurator.configureWithoutConfig(settings);

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings,
            Map.of(),
            home.resolve("config"),
            () -> "sluice-opensearch"
        );
        Node node = new ClasspathNode(environment, PLUGINS);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    System.err.println("opensearch node did not close within 20 s");
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                org.apache.logging.log4j.LogManager.shutdown();
                stopped.countDown();
            }
        }, "sluice-opensearch-shutdown"));

        node.start();
        var http = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
        System.out.println("SLUICE_OPENSEARCH_READY http=http://" + http + " pid=" + ProcessHandle.current().pid());
        System.out.flush();

        // OpenSearch threads are daemons: keep the JVM alive until the shutdown hook has run.
        stopped.await();
    }
}
