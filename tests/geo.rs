//! Geo commands: replies captured byte for byte from Redis 7.0.15 (the documentation's
//! Sicily examples, every option and error, RESP3 shapes, WRONGTYPE, and the STORE
//! variants with source and destination on different shards).

mod common;

use common::{cmd, cmdv, key_on, shard_of};

#[test]
fn documentation_examples() {
    let server = common::Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"), ":2\r\n");
    assert_eq!(cmd(&mut r, "GEODIST Sicily Palermo Catania"), "$11\r\n166274.1516\r\n");
    assert_eq!(cmd(&mut r, "GEODIST Sicily Palermo Catania km"), "$8\r\n166.2742\r\n");
    assert_eq!(cmd(&mut r, "GEODIST Sicily Palermo Catania mi"), "$8\r\n103.3182\r\n");
    assert_eq!(cmd(&mut r, "GEODIST Sicily Palermo Catania ft"), "$11\r\n545518.8700\r\n");
    assert_eq!(cmd(&mut r, "GEODIST Sicily Foo Bar"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "GEODIST Nokey Palermo Catania"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 100 km"), "*1\r\n$7\r\nCatania\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 37 200 km WITHDIST"),
        "*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 37 200 km WITHCOORD"),
        "*2\r\n*2\r\n$7\r\nPalermo\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*2\r\n$7\r\nCatania\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD"),
        "*2\r\n*3\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*3\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH"),
        "*2\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS_RO Sicily 15 37 200 km WITHDIST DESC"),
        "*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOHASH Sicily Palermo Catania"), "*2\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n");
    assert_eq!(
        cmd(&mut r, "GEOPOS Sicily Palermo Catania NonExisting"),
        "*3\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*-1\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOADD Sicily 13.583333 37.316667 Agrigento"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER Sicily Agrigento 100 km"), "*2\r\n$9\r\nAgrigento\r\n$7\r\nPalermo\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUSBYMEMBER_RO Sicily Agrigento 100 km WITHDIST WITHCOORD"),
        "*2\r\n*3\r\n$9\r\nAgrigento\r\n$6\r\n0.0000\r\n*2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n*3\r\n$7\r\nPalermo\r\n$7\r\n90.9778\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2"), ":2\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC"),
        "*3\r\n$7\r\nCatania\r\n$9\r\nAgrigento\r\n$7\r\nPalermo\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST"),
        "*5\r\n*3\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*3\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n*2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n*3\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*3\r\n$5\r\nedge2\r\n$8\r\n279.7403\r\n*2\r\n$20\r\n17.24151045083999634\r\n$20\r\n38.78813451624225195\r\n*3\r\n$5\r\nedge1\r\n$8\r\n279.7405\r\n*2\r\n$19\r\n12.7584877610206604\r\n$20\r\n38.78813451624225195\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km DESC WITHHASH"),
        "*5\r\n*2\r\n$5\r\nedge1\r\n:3479273021651468\r\n*2\r\n$5\r\nedge2\r\n:3481342659049484\r\n*2\r\n$7\r\nPalermo\r\n:3479099956230698\r\n*2\r\n$9\r\nAgrigento\r\n:3479030013248308\r\n*2\r\n$7\r\nCatania\r\n:3479447370796909\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km ASC WITHDIST"),
        "*4\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n*2\r\n$9\r\nAgrigento\r\n$7\r\n90.9778\r\n*2\r\n$5\r\nedge1\r\n$7\r\n91.4007\r\n*2\r\n$7\r\nCatania\r\n$8\r\n166.2742\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2"),
        "*2\r\n$7\r\nCatania\r\n$9\r\nAgrigento\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2 DESC"),
        "*2\r\n$5\r\nedge1\r\n$5\r\nedge2\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 5 ANY"),
        "*5\r\n$9\r\nAgrigento\r\n$7\r\nPalermo\r\n$5\r\nedge1\r\n$7\r\nCatania\r\n$5\r\nedge2\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY"),
        "*1\r\n$9\r\nAgrigento\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 m"), "*0\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCH Nokey FROMMEMBER x BYRADIUS 1 m"), "*0\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200000 m WITHDIST"),
        "*3\r\n*2\r\n$9\r\nAgrigento\r\n$11\r\n130423.4871\r\n*2\r\n$7\r\nPalermo\r\n$11\r\n190442.4298\r\n*2\r\n$7\r\nCatania\r\n$10\r\n56441.2579\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 124.27 mi WITHDIST"),
        "*3\r\n*2\r\n$9\r\nAgrigento\r\n$7\r\n81.0416\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n118.3357\r\n*2\r\n$7\r\nCatania\r\n$7\r\n35.0711\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 656168 ft WITHDIST"),
        "*3\r\n*2\r\n$9\r\nAgrigento\r\n$11\r\n427898.5796\r\n*2\r\n$7\r\nPalermo\r\n$11\r\n624811.1215\r\n*2\r\n$7\r\nCatania\r\n$11\r\n185174.7305\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUS Nokey 15 37 200 km"), "*0\r\n");
    assert_eq!(cmd(&mut r, "GEOHASH Sicily Nope edge1"), "*2\r\n$-1\r\n$11\r\nsqchdm4mq20\r\n");
    assert_eq!(cmd(&mut r, "GEOHASH Nokey a b"), "*2\r\n$-1\r\n$-1\r\n");
    assert_eq!(cmd(&mut r, "GEOHASH Sicily"), "*0\r\n");
    assert_eq!(cmd(&mut r, "GEOPOS Nokey a"), "*1\r\n*-1\r\n");
    assert_eq!(cmd(&mut r, "GEOPOS Sicily"), "*0\r\n");
}

#[test]
fn options_edges_and_store() {
    let server = common::Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "GEOADD g 1 2 a"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g NX 1 2 a 3 4 b"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g XX 5 6 a 7 8 c"), ":0\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g XX CH 5 6 a 9 9 b"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g CH 1 1 a 1 1 b 2 2 d"), ":3\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g ch nx 1 1 a 3 3 e"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 5 5 a"), ":0\r\n");
    assert_eq!(
        cmd(&mut r, "GEOPOS g a b c d e"),
        "*5\r\n*2\r\n$19\r\n4.99999970197677612\r\n$19\r\n4.99999983043607443\r\n*2\r\n$19\r\n0.99999994039535522\r\n$19\r\n0.99999945914297683\r\n*-1\r\n*2\r\n$19\r\n2.00000256299972534\r\n$18\r\n2.0000001856465488\r\n*2\r\n$19\r\n2.99999982118606567\r\n$19\r\n3.00000091215010656\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOADD nx XX 1 2 a"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS nx"), ":0\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 180 85.05112878 north -180 -85.05112878 south 0 0 zero"), ":3\r\n");
    assert_eq!(
        cmd(&mut r, "GEOPOS g north south zero"),
        "*3\r\n*2\r\n$3\r\n180\r\n$19\r\n85.0511287799999991\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n*2\r\n$19\r\n0.00000268220901489\r\n$19\r\n0.00000126736058093\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOHASH g north south zero"),
        "*3\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n$11\r\ns0000000000\r\n"
    );
    assert_eq!(cmd(&mut r, "ZADD weird -5 neg 1e20 big"), ":2\r\n");
    assert_eq!(
        cmd(&mut r, "GEOPOS weird neg big"),
        "*2\r\n*2\r\n$3\r\n180\r\n$19\r\n85.0511287799999991\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOHASH weird neg big"), "*2\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n");
    assert_eq!(
        cmd(&mut r, "GEOADD big 0 0 a 0.001 0 b 0 0.001 c 179.999 0 d -179.999 0 e 0 85 f 0 -85 g 45 45 h"),
        ":8\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH big FROMLONLAT 180 0 BYRADIUS 1000 km WITHDIST"),
        "*1\r\n*2\r\n$1\r\nd\r\n$6\r\n0.1113\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH big FROMLONLAT 0 0 BYRADIUS 20000 km WITHDIST ASC"),
        "*6\r\n*2\r\n$1\r\na\r\n$6\r\n0.0003\r\n*2\r\n$1\r\nc\r\n$6\r\n0.1112\r\n*2\r\n$1\r\nb\r\n$6\r\n0.1113\r\n*2\r\n$1\r\nh\r\n$9\r\n6673.5782\r\n*2\r\n$1\r\nf\r\n$9\r\n9454.2355\r\n*2\r\n$1\r\ng\r\n$9\r\n9454.2355\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH big FROMLONLAT 0 0 BYBOX 40000 40000 km WITHDIST DESC"),
        "*6\r\n*2\r\n$1\r\nf\r\n$9\r\n9454.2355\r\n*2\r\n$1\r\ng\r\n$9\r\n9454.2355\r\n*2\r\n$1\r\nh\r\n$9\r\n6673.5782\r\n*2\r\n$1\r\nb\r\n$6\r\n0.1113\r\n*2\r\n$1\r\nc\r\n$6\r\n0.1112\r\n*2\r\n$1\r\na\r\n$6\r\n0.0003\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH big FROMLONLAT 0 84 BYRADIUS 500 km WITHDIST"),
        "*1\r\n*2\r\n$1\r\nf\r\n$8\r\n111.2263\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCH big FROMLONLAT 0 0 BYRADIUS 0 m WITHDIST"), "*0\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH big FROMLONLAT 0 0 BYRADIUS 200 m WITHDIST WITHCOORD WITHHASH"),
        "*3\r\n*4\r\n$1\r\na\r\n$6\r\n0.3300\r\n:3377699720527872\r\n*2\r\n$19\r\n0.00000268220901489\r\n$19\r\n0.00000126736058093\r\n*4\r\n$1\r\nb\r\n$8\r\n111.2780\r\n:3377699720563336\r\n*2\r\n$19\r\n0.00100046396255493\r\n$19\r\n0.00000126736058093\r\n*4\r\n$1\r\nc\r\n$8\r\n111.2209\r\n:3377699720609860\r\n*2\r\n$19\r\n0.00000268220901489\r\n$19\r\n0.00099994749735544\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUS big 0 0 200 m COUNT 2 DESC"), "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUS big 0 0 200 M count 2 asc withdist"),
        "*2\r\n*2\r\n$1\r\na\r\n$6\r\n0.3300\r\n*2\r\n$1\r\nc\r\n$8\r\n111.2209\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER big a 200 m STORE {big}s"), ":3\r\n");
    assert_eq!(
        cmd(&mut r, "ZRANGE {big}s 0 -1 WITHSCORES"),
        "*6\r\n$1\r\na\r\n$16\r\n3377699720527872\r\n$1\r\nb\r\n$16\r\n3377699720563336\r\n$1\r\nc\r\n$16\r\n3377699720609860\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER big a 200 m STOREDIST {big}s"), ":3\r\n");
    assert_eq!(
        cmd(&mut r, "ZRANGE {big}s 0 -1 WITHSCORES"),
        "*6\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\nb\r\n$18\r\n110.97957265377131\r\n$1\r\nc\r\n$17\r\n111.0794964969236\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER big a 1 m STOREDIST {big}s COUNT 1"), ":1\r\n");
    assert_eq!(cmd(&mut r, "ZRANGE {big}s 0 -1 WITHSCORES"), "*2\r\n$1\r\na\r\n$1\r\n0\r\n");
    assert_eq!(cmd(&mut r, "OBJECT ENCODING {big}s"), "$8\r\nlistpack\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER big a 0 m STORE {big}s"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER big a 0 km STORE {big}s"), ":1\r\n");
    assert_eq!(cmd(&mut r, "EXISTS {big}s"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCHSTORE {big}t big FROMMEMBER a BYBOX 1 1 km DESC STOREDIST"), ":3\r\n");
    assert_eq!(
        cmd(&mut r, "ZRANGE {big}t 0 -1 WITHSCORES"),
        "*6\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\nb\r\n$19\r\n0.11097957265377131\r\n$1\r\nc\r\n$18\r\n0.1110794964969236\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCHSTORE {big}t {big}none FROMMEMBER a BYBOX 1 1 km"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS {big}t"), ":0\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS {big}none 0 0 1 km STORE big"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS big"), ":0\r\n");
}

#[test]
fn errors() {
    let server = common::Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "GEOADD Sicily 13.361389 38.115556 Palermo"), ":1\r\n");
    assert_eq!(
        cmd(&mut r, "GEODIST Sicily Palermo Catania xx"),
        "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"
    );
    assert_eq!(cmd(&mut r, "GEODIST Sicily Palermo Catania km extra"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEODIST Sicily Palermo Catania M"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 200 100 x"), "-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n");
    assert_eq!(
        cmd(&mut r, "GEOADD g -180.0000001 0 x"),
        "-ERR invalid longitude,latitude pair -180.000000,0.000000\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOADD g 0 85.06 x"), "-ERR invalid longitude,latitude pair 0.000000,85.060000\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g inf 2 x"), "-ERR invalid longitude,latitude pair inf,2.000000\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 1 -inf x"), "-ERR invalid longitude,latitude pair 1.000000,-inf\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 1e400 2 x"), "-ERR value is not a valid float\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 1 abc x"), "-ERR value is not a valid float\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 1 2"), "-ERR wrong number of arguments for 'geoadd' command\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g NX XX 1 2 x"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g NX CH"), "-ERR wrong number of arguments for 'geoadd' command\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 1 2 x 3"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g GT 1 2 x"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 200 km COUNT 0"), "-ERR COUNT must be > 0\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 200 km COUNT -3"), "-ERR COUNT must be > 0\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 37 200 km COUNT x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 200 km COUNT"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 200 km ANY"), "-ERR the ANY argument requires COUNT argument\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 -1 km"), "-ERR radius cannot be negative\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 abc km"), "-ERR need numeric radius\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 37 200 yd"),
        "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 200 37 200 km"),
        "-ERR invalid longitude,latitude pair 200.000000,37.000000\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 86 200 km"),
        "-ERR invalid longitude,latitude pair 15.000000,86.000000\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily abc 37 200 km"), "-ERR value is not a valid float\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 37 200 km STORE {Sicily}d WITHDIST"),
        "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 37 200 km WITHHASH STOREDIST {Sicily}d"),
        "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 200 km STORE"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 200 km foo"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS Sicily 15 37 200 km FROMLONLAT 1 2"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS_RO Sicily 15 37 200 km STORE {Sicily}d"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER Sicily Nope 100 km"), "-ERR could not decode requested zset member\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER Sicily Palermo -100 km"), "-ERR radius cannot be negative\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER Nokey Nope 100 km"), "*0\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUSBYMEMBER Nokey Nope 100 km STORE {Nokey}x WITHDIST"),
        "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER Nokey Nope abc km"), "*0\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUSBYMEMBER_RO Sicily Palermo 100 km STOREDIST {Sicily}x"), "-ERR syntax error\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS"),
        "-ERR wrong number of arguments for 'geosearch' command\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily BYRADIUS 10 km"),
        "-ERR wrong number of arguments for 'geosearch' command\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 COUNT 3"),
        "-ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH\r\n"
    );
    assert_eq!(
        cmd(&mut r, "geosearch Sicily byradius 10 km"),
        "-ERR wrong number of arguments for 'geosearch' command\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 10 km"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 10 km"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km BYBOX 1 1 km"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 10 km"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 10 km"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX a 1 km"), "-ERR need numeric width\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 b km"), "-ERR need numeric height\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km"),
        "-ERR height or width cannot be negative\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 lightyears"),
        "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS x km"), "-ERR need numeric radius\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -1 km"), "-ERR radius cannot be negative\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 parsec"),
        "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 370 BYRADIUS 1 km"),
        "-ERR invalid longitude,latitude pair 15.000000,370.000000\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMMEMBER Nope BYRADIUS 10 km"),
        "-ERR could not decode requested zset member\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCH Nokey FROMMEMBER Nope BYRADIUS 10 km"), "*0\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Nokey FROMMEMBER Nope"),
        "-ERR wrong number of arguments for 'geosearch' command\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Nokey FROMMEMBER Nope BYRADIUS 10 km ANY"),
        "-ERR the ANY argument requires COUNT argument\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km STORE x"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km STOREDIST"), "-ERR syntax error\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km ANY"),
        "-ERR the ANY argument requires COUNT argument\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km COUNT 0"), "-ERR COUNT must be > 0\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCHSTORE {Sicily}d Sicily FROMLONLAT 15 37 BYBOX 400 400 km WITHDIST"),
        "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCHSTORE {Sicily}d Sicily FROMLONLAT 15 37 BYBOX 400 400 km STORE foo"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCHSTORE {Sicily}d Sicily FROMLONLAT 15 37"),
        "-ERR wrong number of arguments for 'geosearchstore' command\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCHSTORE {Sicily}d Sicily BYRADIUS 1 km"),
        "-ERR wrong number of arguments for 'geosearchstore' command\r\n"
    );
}

#[test]
fn wrongtype() {
    let server = common::Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "SET str x"), "+OK\r\n");
    assert_eq!(
        cmd(&mut r, "GEOADD str 1 2 x"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOADD str 1 200 x"), "-ERR invalid longitude,latitude pair 1.000000,200.000000\r\n");
    assert_eq!(cmd(&mut r, "GEOADD str 1 2"), "-ERR wrong number of arguments for 'geoadd' command\r\n");
    assert_eq!(cmd(&mut r, "GEOPOS str a"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(cmd(&mut r, "GEOHASH str a"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(
        cmd(&mut r, "GEODIST str a b"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(cmd(&mut r, "GEODIST str a b parsec"), "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUS str 1 2 3 km"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS str 1 200 3 km"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS_RO str 1 2 3 km"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUSBYMEMBER str a 3 km"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUSBYMEMBER_RO str a 3 km"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH str FROMLONLAT 1 2 BYRADIUS 1 km"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH str FROMLONLAT 1 2 BYRADIUS 1 km STORE x"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOADD {str}g 1 2 a"), ":1\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCHSTORE {str}d str FROMLONLAT 1 2 BYRADIUS 1 km"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCHSTORE str {str}g FROMLONLAT 1 2 BYRADIUS 1 km"), ":1\r\n");
    assert_eq!(cmd(&mut r, "TYPE str"), "+zset\r\n");
    assert_eq!(cmd(&mut r, "GEOPOS str a"), "*1\r\n*2\r\n$19\r\n0.99999994039535522\r\n$18\r\n2.0000001856465488\r\n");
}

#[test]
fn resp3_shapes() {
    let server = common::Server::start_sharded();
    let mut r = server.raw();
    r.cmd(&[b"HELLO", b"3"]);
    assert_eq!(cmd(&mut r, "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"), ":2\r\n");
    assert_eq!(cmd(&mut r, "GEODIST Sicily Palermo Catania km"), "$8\r\n166.2742\r\n");
    assert_eq!(cmd(&mut r, "GEODIST Sicily Palermo Nope"), "_\r\n");
    assert_eq!(
        cmd(&mut r, "GEOPOS Sicily Palermo Nope"),
        "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOHASH Sicily Palermo Nope"), "*2\r\n$11\r\nsqc8b49rny0\r\n_\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH"),
        "*2\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC"),
        "*2\r\n$7\r\nCatania\r\n$7\r\nPalermo\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD ASC"),
        "*2\r\n*2\r\n$7\r\nCatania\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n*2\r\n$7\r\nPalermo\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km WITHCOORD ASC"), "*0\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCH Nokey FROMLONLAT 15 37 BYRADIUS 1 km"), "*0\r\n");
    assert_eq!(cmd(&mut r, "GEOADD Sicily 180 85.05112878 north 0 0 zero"), ":2\r\n");
    assert_eq!(
        cmd(&mut r, "GEOPOS Sicily north zero"),
        "*2\r\n*2\r\n,180\r\n,85.0511287799999991\r\n*2\r\n,0.00000268220901489\r\n,0.00000126736058093\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCHSTORE {Sicily}d Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST"), ":2\r\n");
    assert_eq!(
        cmd(&mut r, "ZRANGE {Sicily}d 0 -1 WITHSCORES"),
        "*2\r\n*2\r\n$7\r\nCatania\r\n,56.441257870158204\r\n*2\r\n$7\r\nPalermo\r\n,190.44242984775784\r\n"
    );
}

#[test]
fn cross_shard_store() {
    let server = common::Server::start_sharded();
    let mut r = server.raw();
    let src = key_on(0, "src");
    let dst = key_on(1, "dst");
    let dst2 = key_on(2, "dst");
    assert_ne!(shard_of(&src), shard_of(&dst));
    assert_ne!(shard_of(&src), shard_of(&dst2));
    assert_eq!(
        cmdv(
            &mut r,
            &[
                "GEOADD",
                &src,
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
                "13.583333",
                "37.316667",
                "Agrigento",
                "12.758489",
                "38.788135",
                "edge1",
                "17.241510",
                "38.788135",
                "edge2"
            ]
        ),
        ":5\r\n"
    );
    assert_eq!(
        cmdv(
            &mut r,
            &["GEOSEARCHSTORE", &dst, &src, "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "COUNT", "3"]
        ),
        ":3\r\n"
    );
    assert_eq!(
        cmdv(&mut r, &["ZRANGE", &dst, "0", "-1", "WITHSCORES"]),
        "*6\r\n$9\r\nAgrigento\r\n$16\r\n3479030013248308\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"
    );
    assert_eq!(
        cmdv(
            &mut r,
            &[
                "GEOSEARCH",
                &dst,
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "400",
                "400",
                "km",
                "ASC",
                "WITHCOORD",
                "WITHDIST",
                "WITHHASH"
            ]
        ),
        "*3\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*4\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n:3479030013248308\r\n*2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"
    );
    assert_eq!(
        cmdv(
            &mut r,
            &[
                "GEOSEARCHSTORE",
                &dst2,
                &src,
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "400",
                "400",
                "km",
                "ASC",
                "COUNT",
                "3",
                "STOREDIST"
            ]
        ),
        ":3\r\n"
    );
    assert_eq!(
        cmdv(&mut r, &["ZRANGE", &dst2, "0", "-1", "WITHSCORES"]),
        "*6\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$9\r\nAgrigento\r\n$18\r\n130.42348706714702\r\n$7\r\nPalermo\r\n$18\r\n190.44242984775784\r\n"
    );
    assert_eq!(cmdv(&mut r, &["GEORADIUS", &src, "15", "37", "200", "km", "STORE", &dst]), ":3\r\n");
    assert_eq!(
        cmdv(&mut r, &["ZRANGE", &dst, "0", "-1", "WITHSCORES"]),
        "*6\r\n$9\r\nAgrigento\r\n$16\r\n3479030013248308\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"
    );
    assert_eq!(
        cmdv(&mut r, &["GEORADIUS", &src, "15", "37", "200", "km", "DESC", "COUNT", "2", "STOREDIST", &dst]),
        ":2\r\n"
    );
    assert_eq!(
        cmdv(&mut r, &["ZRANGE", &dst, "0", "-1", "WITHSCORES"]),
        "*4\r\n$9\r\nAgrigento\r\n$18\r\n130.42348706714702\r\n$7\r\nPalermo\r\n$18\r\n190.44242984775784\r\n"
    );
    assert_eq!(cmdv(&mut r, &["GEORADIUSBYMEMBER", &src, "Palermo", "100", "km", "STORE", &dst2]), ":3\r\n");
    assert_eq!(
        cmdv(&mut r, &["ZRANGE", &dst2, "0", "-1", "WITHSCORES"]),
        "*6\r\n$9\r\nAgrigento\r\n$16\r\n3479030013248308\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$5\r\nedge1\r\n$16\r\n3479273021651468\r\n"
    );
    assert_eq!(cmdv(&mut r, &["GEORADIUSBYMEMBER", &src, "Palermo", "1", "m", "STOREDIST", &dst2, "ASC"]), ":1\r\n");
    assert_eq!(cmdv(&mut r, &["ZRANGE", &dst2, "0", "-1", "WITHSCORES"]), "*2\r\n$7\r\nPalermo\r\n$1\r\n0\r\n");
    assert_eq!(cmdv(&mut r, &["GEORADIUSBYMEMBER", &src, "Palermo", "0", "m", "STOREDIST", &dst2, "ASC"]), ":1\r\n");
    assert_eq!(cmdv(&mut r, &["EXISTS", &dst2]), ":1\r\n");
    assert_eq!(cmdv(&mut r, &["GEOSEARCHSTORE", &dst, &src, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"]), ":0\r\n");
    assert_eq!(cmdv(&mut r, &["EXISTS", &dst]), ":0\r\n");
    assert_eq!(
        cmdv(&mut r, &["GEOSEARCHSTORE", &src, &dst, "FROMLONLAT", "15", "37", "BYRADIUS", "10", "km"]),
        ":0\r\n"
    );
    assert_eq!(cmdv(&mut r, &["EXISTS", &src]), ":0\r\n");
    assert_eq!(cmdv(&mut r, &["SET", &dst, "x"]), "+OK\r\n");
    assert_eq!(
        cmdv(&mut r, &["GEOSEARCHSTORE", &dst, &src, "FROMLONLAT", "15", "37", "BYRADIUS", "10", "km"]),
        ":0\r\n"
    );
    assert_eq!(
        cmdv(&mut r, &["GEOSEARCHSTORE", &dst2, &dst, "FROMLONLAT", "15", "37", "BYRADIUS", "10", "km"]),
        ":0\r\n"
    );
    assert_eq!(cmdv(&mut r, &["GEORADIUS", &dst, "15", "37", "10", "km", "STORE", &dst2]), ":0\r\n");
}

#[test]
fn number_parsing() {
    let server = common::Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "GEOADD g 0x10 0 a"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 1e-400 0 b"), "-ERR value is not a valid float\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 1e-310 0 c"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 0 -0 d"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g +1.5 .5 e"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 1. 5e0 f"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 1_0 2 h"), "-ERR value is not a valid float\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g infinity 2 h"), "-ERR invalid longitude,latitude pair inf,2.000000\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g nan 2 h"), "-ERR value is not a valid float\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 0x 2 h"), "-ERR value is not a valid float\r\n");
    assert_eq!(cmd(&mut r, "GEOADD g 0x1p-2 0X.8P1 i"), ":1\r\n");
    assert_eq!(
        cmd(&mut r, "GEOPOS g a b c d e f i"),
        "*7\r\n*2\r\n$20\r\n16.00000172853469849\r\n$19\r\n0.00000126736058093\r\n*-1\r\n*2\r\n$19\r\n0.00000268220901489\r\n$19\r\n0.00000126736058093\r\n*2\r\n$19\r\n0.00000268220901489\r\n$19\r\n0.00000126736058093\r\n*2\r\n$19\r\n1.50000125169754028\r\n$19\r\n0.50000036325177888\r\n*2\r\n$19\r\n0.99999994039535522\r\n$19\r\n4.99999983043607443\r\n*2\r\n$19\r\n0.25000065565109253\r\n$19\r\n0.99999945914297683\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUS g 0 0 0x10 km"), "*2\r\n$1\r\nc\r\n$1\r\nd\r\n");
    assert_eq!(cmd(&mut r, "GEORADIUS g 0 0 1e-400 km"), "-ERR need numeric radius\r\n");
    assert_eq!(
        cmd(&mut r, "GEORADIUS g 0 0 inf km"),
        "*6\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ni\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\na\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUS g 0 0 -0 km"), "*0\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH g FROMLONLAT 0 0 BYBOX inf inf km"),
        "*6\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ni\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\na\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1e308 km WITHDIST"),
        "*6\r\n*2\r\n$1\r\nc\r\n$6\r\n0.0003\r\n*2\r\n$1\r\nd\r\n$6\r\n0.0003\r\n*2\r\n$1\r\ni\r\n$8\r\n114.6491\r\n*2\r\n$1\r\ne\r\n$8\r\n175.8624\r\n*2\r\n$1\r\nf\r\n$8\r\n567.1174\r\n*2\r\n$1\r\na\r\n$9\r\n1779.6210\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1 KM COUNT 9223372036854775807 WITHDIST"),
        "*2\r\n*2\r\n$1\r\nc\r\n$6\r\n0.0003\r\n*2\r\n$1\r\nd\r\n$6\r\n0.0003\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1 KM COUNT 9223372036854775808"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 100000 KM COUNT 2 ANY ASC WITHDIST"),
        "*2\r\n*2\r\n$1\r\nc\r\n$6\r\n0.0003\r\n*2\r\n$1\r\nd\r\n$6\r\n0.0003\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 100000 KM COUNT 2 ANY DESC WITHDIST"),
        "*2\r\n*2\r\n$1\r\nc\r\n$6\r\n0.0003\r\n*2\r\n$1\r\nd\r\n$6\r\n0.0003\r\n"
    );
    assert_eq!(cmd(&mut r, "GEORADIUS g 0 0 100000 KM STORE {g}x STOREDIST {g}y"), ":6\r\n");
    assert_eq!(cmd(&mut r, "ZRANGE {g}x 0 -1 WITHSCORES"), "*0\r\n");
    assert_eq!(
        cmd(&mut r, "ZRANGE {g}y 0 -1 WITHSCORES"),
        "*12\r\n$1\r\nc\r\n$21\r\n0.0003299589265287915\r\n$1\r\nd\r\n$21\r\n0.0003299589265287915\r\n$1\r\ni\r\n$18\r\n114.64906273364269\r\n$1\r\ne\r\n$18\r\n175.86235766843535\r\n$1\r\nf\r\n$18\r\n567.11735276960405\r\n$1\r\na\r\n$18\r\n1779.6209922585385\r\n"
    );
    assert_eq!(cmd(&mut r, "ZADD g2 -inf x inf y"), ":2\r\n");
    assert_eq!(
        cmd(&mut r, "GEOPOS g2 x y"),
        "*2\r\n*2\r\n$3\r\n180\r\n$21\r\n-85.05112751263942528\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOHASH g2 x y"), "*2\r\n$11\r\n00bh0hbj200\r\n$11\r\n00bh0hbj200\r\n");
    assert_eq!(cmd(&mut r, "GEODIST g2 x y"), "$6\r\n0.0257\r\n");
    assert_eq!(cmd(&mut r, "GEOSEARCH g2 FROMLONLAT 0 0 BYRADIUS 100000 KM WITHDIST WITHHASH"), "*0\r\n");
}

#[test]
fn many_points() {
    let server = common::Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, &geoadd_pts()), ":400\r\n");
    assert_eq!(
        cmd(&mut r, "GEOSEARCH pts FROMLONLAT 10 20 BYRADIUS 3000 km ASC WITHDIST"),
        "*17\r\n*2\r\n$4\r\np124\r\n$8\r\n787.4078\r\n*2\r\n$4\r\np123\r\n$8\r\n858.7094\r\n*2\r\n$4\r\np368\r\n$9\r\n1016.2065\r\n*2\r\n$4\r\np334\r\n$9\r\n1192.5371\r\n*2\r\n$4\r\np367\r\n$9\r\n1253.6862\r\n*2\r\n$4\r\np157\r\n$9\r\n1725.3697\r\n*2\r\n$4\r\np333\r\n$9\r\n1959.6598\r\n*2\r\n$4\r\np335\r\n$9\r\n1970.4047\r\n*2\r\n$4\r\np158\r\n$9\r\n2217.6141\r\n*2\r\n$3\r\np90\r\n$9\r\n2254.7628\r\n*2\r\n$4\r\np125\r\n$9\r\n2283.8924\r\n*2\r\n$4\r\np369\r\n$9\r\n2324.4784\r\n*2\r\n$4\r\np122\r\n$9\r\n2455.8482\r\n*2\r\n$4\r\np156\r\n$9\r\n2522.4584\r\n*2\r\n$3\r\np89\r\n$9\r\n2637.6071\r\n*2\r\n$4\r\np366\r\n$9\r\n2726.8496\r\n*2\r\n$3\r\np91\r\n$9\r\n2825.5364\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH pts FROMLONLAT -120 45 BYBOX 4000 2000 km DESC WITHCOORD"),
        "*8\r\n*2\r\n$4\r\np143\r\n*2\r\n$22\r\n-147.85790115594863892\r\n$20\r\n52.62470079749563467\r\n*2\r\n$3\r\np78\r\n*2\r\n$21\r\n-97.01339989900588989\r\n$20\r\n51.88619964883758939\r\n*2\r\n$4\r\np109\r\n*2\r\n$22\r\n-137.87770181894302368\r\n$20\r\n36.54610014389333372\r\n*2\r\n$4\r\np354\r\n*2\r\n$22\r\n-135.67619830369949341\r\n$20\r\n52.40660071534031772\r\n*2\r\n$3\r\np77\r\n*2\r\n$22\r\n-107.30809897184371948\r\n$20\r\n41.41329959598873955\r\n*2\r\n$4\r\np320\r\n*2\r\n$22\r\n-125.69599896669387817\r\n$20\r\n36.32800006173800966\r\n*2\r\n$4\r\np110\r\n*2\r\n$22\r\n-127.58299738168716431\r\n$20\r\n47.01900019674218356\r\n*2\r\n$4\r\np321\r\n*2\r\n$22\r\n-115.40129989385604858\r\n$20\r\n46.80090011458686661\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH pts FROMLONLAT 179 0 BYRADIUS 2500 km ASC WITHDIST"),
        "*11\r\n*2\r\n$4\r\np105\r\n$8\r\n632.5306\r\n*2\r\n$4\r\np349\r\n$8\r\n684.0242\r\n*2\r\n$4\r\np350\r\n$9\r\n1256.1821\r\n*2\r\n$4\r\np106\r\n$9\r\n1474.1683\r\n*2\r\n$4\r\np139\r\n$9\r\n1488.2299\r\n*2\r\n$4\r\np316\r\n$9\r\n1686.2614\r\n*2\r\n$4\r\np315\r\n$9\r\n1832.5585\r\n*2\r\n$4\r\np104\r\n$9\r\n1984.0130\r\n*2\r\n$4\r\np138\r\n$9\r\n2039.1323\r\n*2\r\n$4\r\np348\r\n$9\r\n2157.3581\r\n*2\r\n$4\r\np140\r\n$9\r\n2371.3855\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH pts FROMLONLAT 0 84 BYRADIUS 1500 km ASC WITHDIST"),
        "*18\r\n*2\r\n$4\r\np227\r\n$8\r\n188.1703\r\n*2\r\n$3\r\np16\r\n$8\r\n253.5506\r\n*2\r\n$4\r\np292\r\n$8\r\n656.6601\r\n*2\r\n$4\r\np162\r\n$8\r\n690.5702\r\n*2\r\n$3\r\np81\r\n$8\r\n772.0044\r\n*2\r\n$4\r\np373\r\n$8\r\n848.0241\r\n*2\r\n$4\r\np194\r\n$8\r\n859.4384\r\n*2\r\n$4\r\np259\r\n$8\r\n913.9896\r\n*2\r\n$3\r\np48\r\n$9\r\n1020.7233\r\n*2\r\n$4\r\np357\r\n$9\r\n1072.1319\r\n*2\r\n$4\r\np146\r\n$9\r\n1133.1963\r\n*2\r\n$4\r\np211\r\n$9\r\n1240.7163\r\n*2\r\n$3\r\np97\r\n$9\r\n1294.1912\r\n*2\r\n$4\r\np226\r\n$9\r\n1375.1668\r\n*2\r\n$4\r\np324\r\n$9\r\n1410.2806\r\n*2\r\n$3\r\np15\r\n$9\r\n1418.3302\r\n*2\r\n$4\r\np308\r\n$9\r\n1419.3991\r\n*2\r\n$4\r\np129\r\n$9\r\n1443.3602\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOSEARCH pts FROMLONLAT 0 -84 BYBOX 3000 3000 km ASC WITHDIST"),
        "*18\r\n*2\r\n$4\r\np195\r\n$8\r\n372.1834\r\n*2\r\n$4\r\np260\r\n$8\r\n379.1066\r\n*2\r\n$3\r\np49\r\n$8\r\n532.5374\r\n*2\r\n$4\r\np228\r\n$8\r\n768.4258\r\n*2\r\n$3\r\np17\r\n$8\r\n787.5899\r\n*2\r\n$4\r\np130\r\n$8\r\n876.2028\r\n*2\r\n$4\r\np341\r\n$8\r\n967.5810\r\n*2\r\n$4\r\np325\r\n$9\r\n1012.9618\r\n*2\r\n$4\r\np293\r\n$9\r\n1122.3077\r\n*2\r\n$4\r\np163\r\n$9\r\n1138.9191\r\n*2\r\n$4\r\np114\r\n$9\r\n1158.0518\r\n*2\r\n$3\r\np65\r\n$9\r\n1178.8891\r\n*2\r\n$4\r\np276\r\n$9\r\n1209.0330\r\n*2\r\n$2\r\np0\r\n$9\r\n1223.4893\r\n*2\r\n$3\r\np82\r\n$9\r\n1280.3286\r\n*2\r\n$4\r\np261\r\n$9\r\n1407.3719\r\n*2\r\n$4\r\np196\r\n$9\r\n1494.9223\r\n*2\r\n$3\r\np50\r\n$9\r\n1496.6731\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUSBYMEMBER pts p5 2000 km DESC COUNT 5 WITHCOORD WITHHASH"),
        "*5\r\n*3\r\n$4\r\np250\r\n:496728145963847\r\n*2\r\n$22\r\n-126.32499843835830688\r\n$21\r\n-16.77499881644313717\r\n*3\r\n$4\r\np248\r\n:321024494160717\r\n*2\r\n$22\r\n-146.91440194845199585\r\n$21\r\n-37.72079892214085106\r\n*3\r\n$2\r\np6\r\n:455123911908047\r\n*2\r\n$22\r\n-118.23179751634597778\r\n$21\r\n-22.16259933504127133\r\n*3\r\n$2\r\np4\r\n:140128095009509\r\n*2\r\n$22\r\n-138.82120102643966675\r\n$21\r\n-43.10839944073897811\r\n*3\r\n$4\r\np215\r\n:236874500926716\r\n*2\r\n$22\r\n-126.63949817419052124\r\n$21\r\n-43.32649952289429507\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS pts 30 30 1000 mi ASC COUNT 3 WITHDIST"),
        "*3\r\n*2\r\n$4\r\np125\r\n$8\r\n339.2136\r\n*2\r\n$4\r\np335\r\n$8\r\n461.4159\r\n*2\r\n$4\r\np336\r\n$8\r\n593.1399\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEORADIUS pts 30 30 3000000 ft ASC WITHDIST"),
        "*2\r\n*2\r\n$4\r\np125\r\n$12\r\n1791043.2194\r\n*2\r\n$4\r\np335\r\n$12\r\n2436269.6346\r\n"
    );
    assert_eq!(cmd(&mut r, "GEOSEARCHSTORE {pts}s pts FROMMEMBER p7 BYRADIUS 4000 km ASC COUNT 4 STOREDIST"), ":4\r\n");
    assert_eq!(
        cmd(&mut r, "ZRANGE {pts}s 0 -1 WITHSCORES"),
        "*8\r\n$2\r\np7\r\n$1\r\n0\r\n$4\r\np251\r\n$18\r\n1071.8859496380664\r\n$4\r\np217\r\n$18\r\n1205.8721325547783\r\n$4\r\np218\r\n$18\r\n1326.4141267313607\r\n"
    );
    assert_eq!(
        cmd(&mut r, "GEOHASH pts p0 p1 p2 p3 p399"),
        "*5\r\n$11\r\n00bh2n0p050\r\n$11\r\n04z242b25v0\r\n$11\r\n0kwese29pz0\r\n$11\r\n0wmznvc4790\r\n$11\r\ne62vy7sm4s0\r\n"
    );
    assert_eq!(cmd(&mut r, "GEODIST pts p1 p2 km"), "$9\r\n1228.9961\r\n");
}

/// GEOADD of 400 points spread over the globe (the same ones the expected replies were captured with).
fn geoadd_pts() -> String {
    let fmt = |v: i64| format!("{}{}.{:04}", if v < 0 { "-" } else { "" }, v.abs() / 10000, v.abs() % 10000);
    let mut line = String::from("GEOADD pts");
    for i in 0..400i64 {
        let lon = (i * 7919 * 13) % 3_600_000 - 1_800_000;
        let lat = (i * 104729) % 1_700_000 - 850_000;
        line.push_str(&format!(" {} {} p{i}", fmt(lon), fmt(lat)));
    }
    line
}
