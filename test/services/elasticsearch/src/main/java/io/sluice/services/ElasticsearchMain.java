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

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one single-node Elasticsearch 8.x or 9.x cluster inside this JVM, for Sluice's integration tests
 * (the 9.x node compiles this same file; test/services/elasticsearch9).
 *
 * <pre>
 * java ... io.sluice.services.ElasticsearchMain PATH_HOME
 * </pre>
 *
 * Ports, settings, the ready line and stopping on SIGTERM/SIGINT: see NodeLauncher.
 */
public final class ElasticsearchMain {

    private static final List<Class<? extends Plugin>> PLUGINS = List.of(Netty4Plugin.class, RestRootPlugin.class);

    public static void main(String[] args) throws Exception {
        Path home = NodeLauncher.home(args, ElasticsearchMain.class);

        // Route org.elasticsearch.logging to log4j; the log4j configuration itself is log4j2.properties on the class path.
        LogConfigurator.configureESLogging();

        Settings.Builder builder = Settings.builder();
        NodeLauncher.settings(home).forEach(builder::put);
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            builder.build(),
            Map.of(),
            home.resolve("config"),
            () -> "sluice-es"
        );
        Node node = new SluiceEmbeddedNode(environment, PLUGINS);

        NodeLauncher.run(new NodeLauncher.Lifecycle() {
            @Override
            public String start() throws Exception {
                node.start();
                return node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().toString();
            }

            @Override
            public void stop() throws Exception {
                node.prepareForClose();
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    System.err.println("elasticsearch node did not close within 20 s");
                }
            }
        });
    }
}
