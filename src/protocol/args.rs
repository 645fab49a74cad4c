//! A command's arguments as byte slices, without copying them out of the read buffer.

use std::ops::Range;

/// A borrowed view of one request's arguments; `args.get(0)` is the command name.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    buf: &'a [u8],
    spans: &'a [Range<usize>],
}

impl<'a> Args<'a> {
    /// Arguments given as ranges into `buf`.
    pub fn new(buf: &'a [u8], spans: &'a [Range<usize>]) -> Args<'a> {
        Args { buf, spans }
    }

    /// The number of arguments, command name included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no arguments at all.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Argument `i` (0 is the command name). Panics if out of range: callers check
    /// `len()` first, and the command table has already checked arity.
    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.buf[self.spans[i].clone()]
    }

    /// Argument `i`, or `None` past the end.
    pub fn try_get(&self, i: usize) -> Option<&'a [u8]> {
        self.spans.get(i).map(|r| &self.buf[r.clone()])
    }

    /// Every argument from `start` on.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = &'a [u8]> + 'a {
        let buf = self.buf;
        self.spans.get(start..).unwrap_or(&[]).iter().map(move |r| &buf[r.clone()])
    }

    /// Every argument, command name included.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter_from(0)
    }

    /// An owned copy that can travel to another shard.
    pub fn to_owned_args(&self) -> OwnedArgs {
        let mut data = Vec::with_capacity(self.spans.iter().map(|r| r.len()).sum());
        let mut spans = Vec::with_capacity(self.spans.len());
        for arg in self.iter() {
            let start = data.len();
            data.extend_from_slice(arg);
            spans.push(start..data.len());
        }
        OwnedArgs { data, spans }
    }
}

/// Arguments that own their bytes: what a forwarded command carries to another shard.
#[derive(Debug, Clone, Default)]
pub struct OwnedArgs {
    data: Vec<u8>,
    spans: Vec<Range<usize>>,
}

impl OwnedArgs {
    /// Removes every argument, keeping the buffers.
    pub fn clear(&mut self) {
        self.data.clear();
        self.spans.clear();
    }

    /// Owned arguments from a list of byte strings.
    pub fn from_slices<I, B>(items: I) -> OwnedArgs
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let mut args = OwnedArgs::default();
        for item in items {
            args.push(item.as_ref());
        }
        args
    }

    /// Appends one argument.
    pub fn push(&mut self, arg: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(arg);
        self.spans.push(start..self.data.len());
    }

    /// A borrowed view.
    pub fn view(&self) -> Args<'_> {
        Args::new(&self.data, &self.spans)
    }
}
