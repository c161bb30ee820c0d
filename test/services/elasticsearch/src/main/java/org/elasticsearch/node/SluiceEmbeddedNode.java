/*
 * Part of the Sluice test services (not Elastic code). Lives in org.elasticsearch.node only because
 * NodeConstruction, NodeServiceProvider and the Node(NodeConstruction) constructor are package-private.
 *
 * A real, unmodified Node whose plugins come from the class path (see SluiceClasspathPluginsService).
 * All other services are the production ones; bootstrap checks are not run (Node's default is a no-op).
 */
package org.elasticsearch.node;

import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;
import org.elasticsearch.plugins.SluiceClasspathPluginsService;

import java.util.Collection;
import java.util.List;

public class SluiceEmbeddedNode extends Node {

    public SluiceEmbeddedNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        super(NodeConstruction.prepareConstruction(environment, null, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment env, PluginsLoader ignored) {
                return new SluiceClasspathPluginsService(env, List.copyOf(plugins));
            }
        }, true));
    }
}
