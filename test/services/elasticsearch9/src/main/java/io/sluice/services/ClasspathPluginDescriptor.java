package io.sluice.services;

import org.elasticsearch.Build;
import org.elasticsearch.plugins.PluginDescriptor;

import java.util.List;

/** The descriptor of a class path plugin, with the 9.x PluginDescriptor constructor (it adds a deployment target). */
public final class ClasspathPluginDescriptor {

    private ClasspathPluginDescriptor() {}

    public static PluginDescriptor of(Class<?> pluginClass) {
        return new PluginDescriptor(
            pluginClass.getName(),
            "class path plugin (Sluice embedded node)",
            Build.current().version(),
            Build.current().version(),
            Integer.toString(Runtime.version().feature()),
            pluginClass.getName(),
            null,
            List.of(),
            false,
            false,
            false,
            false,
            PluginDescriptor.DeploymentTarget.ALL
        );
    }
}
