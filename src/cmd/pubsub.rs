//! Pub/Sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB.
//!
//! Subscriptions live on the connection's own thread; publishing reaches every thread.
//! The mechanism is in [`crate::server::pubsub`].

use bytes::Bytes;

use crate::command::{CmdError, CmdResult, CommandImpl, Handler, LocalFuture};
use crate::protocol::{Args, Reply};
use crate::server::Session;
use crate::server::pubsub::{self, Kind};

/// The commands this file implements.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "subscribe", handler: Handler::Local(subscribe) },
    CommandImpl { name: "psubscribe", handler: Handler::Local(psubscribe) },
    CommandImpl { name: "ssubscribe", handler: Handler::Local(ssubscribe) },
    CommandImpl { name: "unsubscribe", handler: Handler::Local(unsubscribe) },
    CommandImpl { name: "punsubscribe", handler: Handler::Local(punsubscribe) },
    CommandImpl { name: "sunsubscribe", handler: Handler::Local(sunsubscribe) },
    CommandImpl { name: "publish", handler: Handler::Async(publish) },
    CommandImpl { name: "spublish", handler: Handler::Async(spublish) },
    CommandImpl { name: "pubsub|channels", handler: Handler::Async(pubsub_channels) },
    CommandImpl { name: "pubsub|shardchannels", handler: Handler::Async(pubsub_shardchannels) },
    CommandImpl { name: "pubsub|numsub", handler: Handler::Async(pubsub_numsub) },
    CommandImpl { name: "pubsub|shardnumsub", handler: Handler::Async(pubsub_shardnumsub) },
    CommandImpl { name: "pubsub|numpat", handler: Handler::Async(pubsub_numpat) },
    CommandImpl { name: "pubsub|help", handler: Handler::Local(pubsub_help) },
];

/// SUBSCRIBE channel [channel ...]: listens for messages published to the channels.
fn subscribe(session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(pubsub::subscribe(session, Kind::Channel, &args.iter_from(1).collect::<Vec<_>>()))
}

/// PSUBSCRIBE pattern [pattern ...]: listens for messages on channels matching the glob patterns.
fn psubscribe(session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(pubsub::subscribe(session, Kind::Pattern, &args.iter_from(1).collect::<Vec<_>>()))
}

/// SSUBSCRIBE shardchannel [shardchannel ...]: listens for messages published with SPUBLISH.
fn ssubscribe(session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(pubsub::subscribe(session, Kind::Shard, &args.iter_from(1).collect::<Vec<_>>()))
}

/// UNSUBSCRIBE [channel ...]: stops listening on the channels (all of them when none given).
fn unsubscribe(session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(pubsub::unsubscribe(session, Kind::Channel, &args.iter_from(1).collect::<Vec<_>>()))
}

/// PUNSUBSCRIBE [pattern ...]: stops listening on the patterns (all of them when none given).
fn punsubscribe(session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(pubsub::unsubscribe(session, Kind::Pattern, &args.iter_from(1).collect::<Vec<_>>()))
}

/// SUNSUBSCRIBE [shardchannel ...]: stops listening on the shard channels (all when none given).
fn sunsubscribe(session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(pubsub::unsubscribe(session, Kind::Shard, &args.iter_from(1).collect::<Vec<_>>()))
}

/// PUBLISH channel message: sends the message to the channel's and matching patterns'
/// subscribers on every thread; replies with how many received it.
fn publish<'a>(session: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let reached = pubsub::publish(session, false, args.get(1), args.get(2)).await?;
        Ok(Reply::Int(reached as i64))
    })
}

/// SPUBLISH shardchannel message: sends the message to the shard channel's subscribers;
/// replies with how many received it.
fn spublish<'a>(session: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let reached = pubsub::publish(session, true, args.get(1), args.get(2)).await?;
        Ok(Reply::Int(reached as i64))
    })
}

/// Redis's error for PUBSUB CHANNELS / SHARDCHANNELS with more than one pattern.
fn channels_syntax(sub: &str) -> CmdError {
    CmdError::msg(format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP."))
}

/// The names of `kind` with subscribers, matching the optional pattern at argument 2.
async fn channels(session: &Session, args: Args<'_>, kind: Kind, sub: &str) -> CmdResult {
    if args.len() > 3 {
        return Err(channels_syntax(sub));
    }
    let pattern = (args.len() == 3).then(|| args.get(2));
    let names = pubsub::names(&session.node, kind, pattern).await?;
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

/// PUBSUB CHANNELS [pattern]: the channels with at least one subscriber, matching the pattern.
fn pubsub_channels<'a>(session: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move { channels(session, args, Kind::Channel, "channels").await })
}

/// PUBSUB SHARDCHANNELS [pattern]: the shard channels with at least one subscriber.
fn pubsub_shardchannels<'a>(session: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move { channels(session, args, Kind::Shard, "shardchannels").await })
}

/// Each of the channels from argument 2 with its number of subscribers of `kind`.
async fn numsub(session: &Session, args: Args<'_>, kind: Kind) -> CmdResult {
    let names: Vec<Bytes> = args.iter_from(2).map(Bytes::copy_from_slice).collect();
    let counts = pubsub::numsub(&session.node, kind, names.clone()).await?;
    let mut out = Vec::with_capacity(names.len() * 2);
    for (name, count) in names.into_iter().zip(counts) {
        out.push(Reply::Bulk(name));
        out.push(Reply::Int(count as i64));
    }
    Ok(Reply::Array(out))
}

/// PUBSUB NUMSUB [channel ...]: each channel with its number of subscribers (patterns not counted).
fn pubsub_numsub<'a>(session: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move { numsub(session, args, Kind::Channel).await })
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]: each shard channel with its number of subscribers.
fn pubsub_shardnumsub<'a>(session: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move { numsub(session, args, Kind::Shard).await })
}

/// PUBSUB NUMPAT: the number of distinct patterns subscribed to.
fn pubsub_numpat<'a>(session: &'a mut Session, _args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let patterns = pubsub::names(&session.node, Kind::Pattern, None).await?;
        Ok(Reply::Int(patterns.len() as i64))
    })
}

/// PUBSUB HELP: the subcommands.
fn pubsub_help(_session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(crate::cmd::connection::help_reply(
        args.get(0),
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    ))
}
