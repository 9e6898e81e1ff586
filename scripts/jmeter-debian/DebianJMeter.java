import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * Starts Debian's packaged JMeter 2.13 (package `jmeter`) so that it can load test plans.
 *
 * Debian builds JMeter 2.13 against its own XStream 1.4.20. Since 1.4.18 XStream refuses every type
 * it was not told to allow, and JMeter 2.13 allows none of its own, so the packaged `jmeter` fails
 * on every .jmx with ForbiddenClassException (and `jmeter -n` still exits 0).
 *
 * This entry point does what JMeter's own start-up does, in order, with one step added:
 *   1. loading org.apache.jmeter.NewDriver builds JMeter's class loader over lib/ and lib/ext;
 *   2. JMeterUtils reads bin/jmeter.properties (SaveService needs it to initialise);
 *   3. the two XStream instances of SaveService (test plans and result files) allow any type;
 *   4. NewDriver.main receives the command line unchanged (-n -t -l -J ... behave as usual).
 * JMeter 3.0 and later allow their own types and need none of this.
 */
public final class DebianJMeter {
    private DebianJMeter() {}

    public static void main(String[] args) throws Exception {
        String home = System.getProperty("jmeter.home");
        if (home == null || home.isEmpty()) {
            throw new IllegalStateException("-Djmeter.home=<JMeter home> is required");
        }
        Class<?> driver = Class.forName("org.apache.jmeter.NewDriver");
        ClassLoader jmeterLoader = (ClassLoader) readStatic(driver, "loader");

        Thread thread = Thread.currentThread();
        ClassLoader callerLoader = thread.getContextClassLoader();
        thread.setContextClassLoader(jmeterLoader);
        try {
            Class<?> utils = Class.forName("org.apache.jmeter.util.JMeterUtils", true, jmeterLoader);
            utils.getMethod("setJMeterHome", String.class).invoke(null, home);
            utils.getMethod("loadJMeterProperties", String.class)
                    .invoke(null, home + "/bin/jmeter.properties");
            allowAllTypes(jmeterLoader);
        } finally {
            thread.setContextClassLoader(callerLoader);
        }
        driver.getMethod("main", String[].class).invoke(null, (Object) args);
    }

    private static void allowAllTypes(ClassLoader loader) throws Exception {
        Class<?> saveService = Class.forName("org.apache.jmeter.save.SaveService", true, loader);
        Class<?> permissionType =
                Class.forName("com.thoughtworks.xstream.security.TypePermission", true, loader);
        Object anyType = Class.forName("com.thoughtworks.xstream.security.AnyTypePermission", true, loader)
                .getField("ANY")
                .get(null);
        for (String field : new String[] {"JMXSAVER", "JTLSAVER"}) {
            Object xstream = readStatic(saveService, field);
            Method add = xstream.getClass().getMethod("addPermission", permissionType);
            add.invoke(xstream, anyType);
        }
    }

    private static Object readStatic(Class<?> owner, String name) throws Exception {
        Field f = owner.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(null);
    }
}
