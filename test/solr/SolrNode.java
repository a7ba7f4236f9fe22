import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.solr.client.solrj.embedded.SSLConfig;
import org.apache.solr.common.cloud.SolrZkClient;
import org.apache.solr.common.cloud.ZkMaintenanceUtils;
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Runs one real Solr node for the tests, from the Maven jars (no Solr distribution needed).
 *
 * Solr publishes no runnable server artifact, so this uses JettySolrRunner from
 * solr-test-framework: the same SolrDispatchFilter and CoreContainer that bin/solr runs,
 * in an embedded Jetty on one port with the "/solr" context.
 *
 *   java -cp '.cache/jars/solr-9/*:.cache/solr-launcher' SolrNode \
 *     --home DIR --port 8983 [--host 127.0.0.1] [--zk 127.0.0.1:2181] \
 *     [--configset NAME=DIR]... [--zk-file ZNODE=FILE]... [--zk-only true]
 *     [--ssl-keystore P12 --ssl-truststore P12 [--ssl-need-client-auth true] [--ssl-protocols TLSv1.3]]
 *
 * --home      the Solr home (holds solr.xml; standalone cores live under it)
 * --zk        cloud mode: the ZooKeeper connect string (sets the zkHost node property)
 * --configset uploaded to /configs/NAME in ZooKeeper before the node starts
 * --zk-file   a file written to ZNODE before the node starts (e.g. /security.json)
 * --zk-only   only do the ZooKeeper writes above, then exit (tests use it to edit state.json)
 * --ssl-*     HTTPS on the port (the stores' password from $IMOM_SOLR_SSL_PASSWORD, never argv):
 *             Jetty's SSL set here, since this launcher is not bin/solr and SOLR_SSL_* mean
 *             nothing to it; need-client-auth refuses a client without a certificate from the
 *             truststore's CA; --ssl-protocols limits the versions Jetty accepts. In SolrCloud
 *             the cluster property urlScheme=https is the caller's (a --zk-file /clusterprops.json).
 *
 * Prints "SOLR_NODE_READY <node_name>" once the node serves requests. SIGTERM stops
 * it the way Solr does on shutdown: it publishes its replicas as down in ZooKeeper.
 */
public final class SolrNode {
  public static void main(String[] argv) {
    try {
      run(argv);
    } catch (Throwable t) {
      // Jetty's threads would keep a half-started JVM alive: a failed start must end the process.
      t.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] argv) throws Exception {
    Map<String, List<String>> a = parse(argv);
    String zk = one(a, "zk", null);
    boolean zkOnly = "true".equals(one(a, "zk-only", "false"));

    if (zk != null && (a.containsKey("configset") || a.containsKey("zk-file"))) {
      try (SolrZkClient client = new SolrZkClient.Builder().withUrl(zk).withTimeout(30, TimeUnit.SECONDS).build()) {
        for (String spec : a.getOrDefault("configset", List.of())) {
          String[] kv = spec.split("=", 2);
          ZkMaintenanceUtils.uploadToZK(client, Path.of(kv[1]), "/configs/" + kv[0], ZkMaintenanceUtils.UPLOAD_FILENAME_EXCLUDE_PATTERN);
        }
        for (String spec : a.getOrDefault("zk-file", List.of())) {
          String[] kv = spec.split("=", 2);
          byte[] data = Files.readAllBytes(Path.of(kv[1]));
          if (client.exists(kv[0], true)) client.setData(kv[0], data, true);
          else client.makePath(kv[0], data, true);
        }
      }
    }

    if (zkOnly) return;
    Path home = Path.of(one(a, "home", null)).toAbsolutePath();
    int port = Integer.parseInt(one(a, "port", null));
    String host = one(a, "host", "127.0.0.1");

    Properties props = new Properties();
    props.setProperty("host", host);
    props.setProperty("hostPort", String.valueOf(port));
    props.setProperty("hostContext", "solr");
    if (zk != null) props.setProperty("zkHost", zk);

    JettyConfig.Builder builder = JettyConfig.builder().setPort(port).setContext("/solr").stopAtShutdown(false);
    String keystore = one(a, "ssl-keystore", "");
    if (!keystore.isEmpty()) {
      builder.withSSLConfig(sslConfig(keystore, one(a, "ssl-truststore", null),
          "true".equals(one(a, "ssl-need-client-auth", "false")), one(a, "ssl-protocols", "")));
      // JettySolrRunner's TLS connector offers h2 alone in ALPN, where bin/solr's Jetty also
      // takes http/1.1 (what the check and most clients ask for): HTTP/1.1 only, between the
      // nodes too (solr.http1).
      builder.useOnlyHttp1(true);
      System.setProperty("solr.http1", "true");
    }
    JettyConfig config = builder.build();
    JettySolrRunner runner = new JettySolrRunner(home.toString(), props, config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        runner.stop();
      } catch (Exception e) {
        e.printStackTrace();
      } finally {
        stopped.countDown();
      }
    }, "solr-node-stop"));
    runner.start();
    if (runner.getCoreContainer() == null) throw new IllegalStateException("the CoreContainer did not start");
    String nodeName = runner.getCoreContainer().isZooKeeperAware() ? runner.getNodeName() : "standalone";
    System.out.println("SOLR_NODE_READY " + nodeName + " " + runner.getBaseUrl());
    System.out.flush();
    stopped.await();
  }

  /**
   * Jetty's HTTPS, and the same stores for Solr's own HTTP clients (the requests one SolrCloud
   * node sends another), which read the javax.net.ssl properties as bin/solr sets them.
   */
  private static SSLConfig sslConfig(String keystore, String truststore, boolean needClientAuth, String protocols) {
    String password = System.getenv("IMOM_SOLR_SSL_PASSWORD");
    if (password == null) throw new IllegalArgumentException("--ssl-keystore needs $IMOM_SOLR_SSL_PASSWORD");
    // JettySolrRunner builds its SSL connector from JettyConfig's SSLConfig only in this mode.
    System.setProperty("jetty.testMode", "true");
    System.setProperty("javax.net.ssl.keyStore", keystore);
    System.setProperty("javax.net.ssl.keyStorePassword", password);
    System.setProperty("javax.net.ssl.keyStoreType", "PKCS12");
    System.setProperty("javax.net.ssl.trustStore", truststore);
    System.setProperty("javax.net.ssl.trustStorePassword", password);
    System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
    return new SSLConfig(true, needClientAuth, keystore, password, truststore, password) {
      @Override
      public SslContextFactory.Server createContextFactory() {
        SslContextFactory.Server f = super.createContextFactory();
        f.setKeyStoreType("PKCS12");
        f.setTrustStoreType("PKCS12");
        if (!protocols.isEmpty()) f.setIncludeProtocols(protocols.split(","));
        return f;
      }
    };
  }

  private static Map<String, List<String>> parse(String[] argv) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new IllegalArgumentException("bad argument: " + argv[i]);
      out.computeIfAbsent(argv[i].substring(2), k -> new ArrayList<>()).add(argv[++i]);
    }
    return out;
  }

  private static String one(Map<String, List<String>> a, String key, String dflt) {
    List<String> v = a.get(key);
    if (v == null || v.isEmpty()) {
      if (dflt == null && !key.equals("zk")) throw new IllegalArgumentException("missing --" + key);
      return dflt;
    }
    return v.get(v.size() - 1);
  }
}
