using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace DhubBatches.Engine.Http;

/// <summary>
/// An answer's body, read in full inside its attempt (so a body cut short is retried) into chunks rented from the shared
/// array pool and given back when the answer is disposed. A page of 200 Prefect flow runs is about 400 KB: HttpContent's
/// own buffer is a new large-object array per page, so listing 100,000 runs allocated 200 MB of them and set off a
/// full collection every few dozen pages.
/// </summary>
internal sealed class PooledBody : HttpContent
{
    /// <summary>Below the large object heap's 85,000 bytes, and a size the shared pool keeps.</summary>
    internal const int ChunkSize = 64 * 1024;

    private readonly List<byte[]> _chunks;
    private readonly long _length;
    private int _disposed;

    private PooledBody(List<byte[]> chunks, long length)
    {
        _chunks = chunks;
        _length = length;
    }

    /// <summary>Reads <paramref name="content"/> to its end; its headers come along, with the length as read.</summary>
    public static async Task<PooledBody> ReadAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var chunks = new List<byte[]>();
        long length = 0;
        try
        {
            using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
                chunks.Add(chunk);
                var filled = 0;
                int read;
                do
                {
                    read = await stream.ReadAsync(chunk.AsMemory(filled, ChunkSize - filled), cancellationToken).ConfigureAwait(false);
                    filled += read;
                }
                while (read > 0 && filled < ChunkSize);
                length += filled;
                if (filled < ChunkSize)
                {
                    break;
                }
            }
        }
        catch
        {
            Return(chunks);
            throw;
        }
        var body = new PooledBody(chunks, length);
        foreach (var header in content.Headers)
        {
            body.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
        // What was read: a decompressed body is longer than the header said.
        body.Headers.ContentLength = length;
        return body;
    }

    /// <summary>A new read of the whole body (HttpContent's own read stream is one per content).</summary>
    public Stream OpenRead() => new Reader(this);

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult<Stream>(new Reader(this));

    protected override Stream CreateContentReadStream(CancellationToken cancellationToken) => new Reader(this);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _chunks.Count; i++)
        {
            ThrowIfDisposed();
            await stream.WriteAsync(_chunks[i].AsMemory(0, ChunkLength(i)), cancellationToken).ConfigureAwait(false);
        }
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _chunks.Count; i++)
        {
            ThrowIfDisposed();
            stream.Write(_chunks[i], 0, ChunkLength(i));
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Return(_chunks);
        }
        base.Dispose(disposing);
    }

    private int ChunkLength(int index) =>
        index < _chunks.Count - 1 ? ChunkSize : (int)(_length - ((long)ChunkSize * (_chunks.Count - 1)));

    /// <summary>A chunk given back may already hold someone else's bytes: nothing reads one after that.</summary>
    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new ObjectDisposedException(nameof(PooledBody));
        }
    }

    private static void Return(List<byte[]> chunks)
    {
        foreach (var chunk in chunks)
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        chunks.Clear();
    }

    /// <summary>Reads the chunks in order; each read of the body gets its own.</summary>
    private sealed class Reader : Stream
    {
        private readonly PooledBody _body;
        private long _position;

        public Reader(PooledBody body)
        {
            _body = body;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _body._length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            _body.ThrowIfDisposed();
            var copied = 0;
            while (copied < buffer.Length && _position < _body._length)
            {
                var index = (int)(_position / ChunkSize);
                var within = (int)(_position % ChunkSize);
                var available = _body.ChunkLength(index) - within;
                var take = Math.Min(available, buffer.Length - copied);
                _body._chunks[index].AsSpan(within, take).CopyTo(buffer.Slice(copied));
                copied += take;
                _position += take;
            }
            return copied;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            new ValueTask<int>(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
