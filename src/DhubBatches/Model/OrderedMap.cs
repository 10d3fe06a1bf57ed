using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace DhubBatches;

/// <summary>
/// A read-only ordered name → value map of the module's objects (a step's offsets, a pipeline's parameters). It
/// implements the non-generic <see cref="IDictionary"/> so PowerShell's <c>$step.Offsets.partition_0</c> and
/// ConvertTo-Json treat it as a dictionary, and it overrides <see cref="ToString"/> so Export-Csv writes the summary
/// <c>name=value; …</c> instead of a type name (and tables show it too: see the non-generic enumerator).
/// </summary>
public abstract class OrderedMap<TValue> : IDictionary, IReadOnlyDictionary<string, TValue>
{
    private readonly List<string> _keys = new List<string>();
    private readonly Dictionary<string, TValue> _values = new Dictionary<string, TValue>(StringComparer.Ordinal);

    private protected OrderedMap(IReadOnlyList<KeyValuePair<string, TValue>> pairs)
    {
        foreach (var pair in pairs)
        {
            if (!_values.ContainsKey(pair.Key))
            {
                _keys.Add(pair.Key);
            }
            _values[pair.Key] = pair.Value;
        }
    }

    public TValue this[string key] => _values[key];

    public int Count => _keys.Count;

    public IEnumerable<string> Keys => _keys;

    public IEnumerable<TValue> Values => _keys.Select(k => _values[k]);

    public bool ContainsKey(string key) => _values.ContainsKey(key);

    public bool TryGetValue(string key, out TValue value) => _values.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, TValue>> GetEnumerator()
    {
        foreach (var key in _keys)
        {
            yield return new KeyValuePair<string, TValue>(key, _values[key]);
        }
    }

    /// <summary><c>partition_0=1000; partition_1=500</c>, in the server's order.</summary>
    public override string ToString() => string.Join("; ", _keys.Select(k => k + "=" + Format(_values[k])));

    /// <summary>How a value reads in the summary.</summary>
    private protected virtual string Format(TValue value) => value?.ToString() ?? string.Empty;

    // Non-generic IDictionary: what PowerShell's member access and serializers look for.
    object? IDictionary.this[object key]
    {
        get => key is string s && _values.TryGetValue(s, out var v) ? (object?)v : null;
        set => throw new NotSupportedException("The map is read-only.");
    }

    ICollection IDictionary.Keys => _keys.ToArray();

    ICollection IDictionary.Values => Values.ToArray();

    bool IDictionary.IsReadOnly => true;

    bool IDictionary.IsFixedSize => true;

    bool ICollection.IsSynchronized => false;

    object ICollection.SyncRoot => this;

    void IDictionary.Add(object key, object? value) => throw new NotSupportedException("The map is read-only.");

    void IDictionary.Clear() => throw new NotSupportedException("The map is read-only.");

    bool IDictionary.Contains(object key) => key is string s && _values.ContainsKey(s);

    void IDictionary.Remove(object key) => throw new NotSupportedException("The map is read-only.");

    void ICollection.CopyTo(Array array, int index)
    {
        foreach (var pair in this)
        {
            array.SetValue(new DictionaryEntry(pair.Key, pair.Value), index++);
        }
    }

    IDictionaryEnumerator IDictionary.GetEnumerator() => new Enumerator(this);

    /// <summary>
    /// PowerShell's formatter shows a dictionary inside a table or list cell by enumerating it through this
    /// interface, <c>{[partition_0, 1000], …}</c>; one item, the summary, makes every view show
    /// <c>{partition_0=1000; partition_1=500}</c>. Member access, indexing, <c>GetEnumerator()</c>, ConvertTo-Json and
    /// Export-Clixml use the dictionary interfaces above and still see every partition.
    /// </summary>
    IEnumerator IEnumerable.GetEnumerator()
    {
        if (_keys.Count > 0)
        {
            yield return ToString();
        }
    }

    private sealed class Enumerator : IDictionaryEnumerator
    {
        private readonly IEnumerator<KeyValuePair<string, TValue>> _inner;

        public Enumerator(OrderedMap<TValue> map) => _inner = map.GetEnumerator();

        public DictionaryEntry Entry => new DictionaryEntry(_inner.Current.Key, _inner.Current.Value);

        public object Key => _inner.Current.Key;

        public object? Value => _inner.Current.Value;

        public object Current => Entry;

        public bool MoveNext() => _inner.MoveNext();

        public void Reset() => _inner.Reset();
    }
}
