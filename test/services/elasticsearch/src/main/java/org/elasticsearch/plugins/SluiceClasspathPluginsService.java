/*
 * Part of the Sluice test services (not Elastic code). Lives in org.elasticsearch.plugins only because the
 * hooks it needs (PluginsService.LoadedPlugin, loadPlugin, loadExtensions, createExtension) are package-private.
 *
 * A PluginsService whose plugins are plain classes on the application class path, instead of bundles loaded
 * from $ES_HOME/modules and $ES_HOME/plugins into their own class loaders. This is the same idea as the test
 * framework's MockPluginsService, without its test-only dependencies. The 8.x and 9.x nodes share it; the
 * descriptor, whose constructor differs between them, comes from ClasspathPluginDescriptor.
 */
package org.elasticsearch.plugins;

import io.sluice.services.ClasspathPluginDescriptor;
import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.spi.SPIClassIterator;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

public class SluiceClasspathPluginsService extends PluginsService {

    private final List<LoadedPlugin> classpathPlugins;

    public SluiceClasspathPluginsService(Environment environment, Collection<Class<? extends Plugin>> pluginClasses) {
        // An empty loader: nothing is read from the modules/ and plugins/ directories.
        super(environment.settings(), environment.configDir(), new PluginsLoader(Set.of(), Set.of(), Map.of()));
        List<LoadedPlugin> loaded = new ArrayList<>();
        for (Class<? extends Plugin> pluginClass : pluginClasses) {
            Plugin instance = loadPlugin(pluginClass, environment.settings(), environment.configDir());
            PluginDescriptor descriptor = ClasspathPluginDescriptor.of(pluginClass);
            loaded.add(new LoadedPlugin(descriptor, instance, pluginClass.getClassLoader()));
        }
        loadExtensions(loaded);
        this.classpathPlugins = List.copyOf(loaded);
    }

    @Override
    protected List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }

    @Override
    public PluginsAndModules info() {
        return new PluginsAndModules(classpathPlugins.stream().map(p -> new PluginRuntimeInfo(p.descriptor())).toList(), List.of());
    }

    /**
     * Every plugin shares the application class loader, so a META-INF/services entry would otherwise be
     * instantiated once per plugin. Keep one instance per provider class, and skip providers whose
     * one-argument constructor wants a different plugin type.
     */
    @Override
    public <T> List<? extends T> loadServiceProviders(Class<T> service) {
        Map<Class<?>, T> byClass = new LinkedHashMap<>();
        for (LoadedPlugin loadedPlugin : classpathPlugins) {
            Plugin plugin = loadedPlugin.instance();
            var it = SPIClassIterator.get(service, plugin.getClass().getClassLoader());
            while (it.hasNext()) {
                Class<? extends T> providerClass = it.next();
                if (byClass.containsKey(providerClass) || wantsOtherPlugin(providerClass, plugin)) {
                    continue;
                }
                byClass.put(providerClass, createExtension(providerClass, service, plugin));
            }
        }
        return List.copyOf(byClass.values());
    }

    private static boolean wantsOtherPlugin(Class<?> providerClass, Plugin plugin) {
        for (var constructor : providerClass.getConstructors()) {
            if (constructor.getParameterCount() == 1 && constructor.getParameterTypes()[0].isInstance(plugin) == false) {
                return true;
            }
        }
        return false;
    }
}
