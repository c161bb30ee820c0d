package io.sluice.services;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.Netty4Plugin;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one single-node Elasticsearch 7.17 cluster inside this JVM, for Sluice's integration tests.
 *
 * <pre>
 * java ... io.sluice.services.Elasticsearch7Main PATH_HOME
 * </pre>
 *
 * Ports, settings, the ready line and stopping on SIGTERM/SIGINT: see NodeLauncher (shared with the 8.x and
 * 9.x launchers). Unlike 8.x, a 7.17 Node takes class path plugins itself, and GET / is part of the server.
 */
public final class Elasticsearch7Main {

    /** The stock Node; its class path plugin constructor is protected (the test framework's MockNode uses it). */
    private static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Path home = NodeLauncher.home(args, Elasticsearch7Main.class);

        // 7.17 logs through log4j directly, configured by log4j2.properties on the class path.
        Settings.Builder builder = Settings.builder();
        NodeLauncher.settings(home).forEach(builder::put);
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            builder.build(),
            Map.of(),
            home.resolve("config"),
            () -> "sluice-es"
        );
        Node node = new ClasspathNode(environment, List.of(Netty4Plugin.class));

        NodeLauncher.run(new NodeLauncher.Lifecycle() {
            @Override
            public String start() throws Exception {
                node.start();
                return node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().toString();
            }

            @Override
            public void stop() throws Exception {
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    System.err.println("elasticsearch node did not close within 20 s");
                }
            }
        });
    }
}
