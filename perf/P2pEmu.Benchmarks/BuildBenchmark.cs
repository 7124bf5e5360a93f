using System;
using System.Collections.Generic;
using System.Linq;
using System.Linq.Expressions;
using System.Reflection;

namespace P2pEmu.Benchmarks;

/// <summary>
/// One benchmark method of one build, set up as BenchmarkDotNet would (parameters, <c>[GlobalSetup]</c>), with the
/// class's baseline of the same category beside it. Attributes are matched by name, so any build's BenchmarkDotNet
/// serves.
/// </summary>
internal sealed class BuildBenchmark : IDisposable
{
    private readonly object _instance;
    private readonly MethodInfo? _cleanup;

    public BuildBenchmark(Assembly build, string className, string methodName, IReadOnlyDictionary<string, string> parameters)
    {
        Type type = build.GetTypes().SingleOrDefault(t => t.Name == className && t.IsPublic)
            ?? throw new ArgumentException($"{build.Location} has no benchmark class {className}.");
        MethodInfo measured = BenchmarkMethods(type).SingleOrDefault(m => m.Name == methodName)
            ?? throw new ArgumentException($"{className} in {build.Location} has no benchmark {methodName}.");
        string[] category = Categories(measured);
        MethodInfo baseline = BenchmarkMethods(type).SingleOrDefault(m => IsBaseline(m) && Categories(m).SequenceEqual(category))
            ?? throw new ArgumentException($"{className} has no baseline benchmark in the category of {methodName}.");

        PropertyInfo[] parameterProperties = [.. type.GetProperties().Where(p => Attribute(p, "ParamsAttribute") is not null)];
        if (parameters.Keys.FirstOrDefault(name => !parameterProperties.Any(p => p.Name == name)) is string unknown)
        {
            throw new ArgumentException($"{className} has no [Params] property {unknown}.");
        }

        _instance = Activator.CreateInstance(type)!;
        foreach (PropertyInfo property in parameterProperties)
        {
            property.SetValue(_instance, parameters.TryGetValue(property.Name, out string? text) ? Parse(property.PropertyType, text) : FirstValue(property));
        }

        type.GetMethods().SingleOrDefault(m => Attribute(m, "GlobalSetupAttribute") is not null)?.Invoke(_instance, null);
        _cleanup = type.GetMethods().SingleOrDefault(m => Attribute(m, "GlobalCleanupAttribute") is not null);
        Measured = Invoker(_instance, measured);
        Baseline = Invoker(_instance, baseline);
        BaselineName = baseline.Name;
        MeasuredOperations = OperationsPerInvoke(measured);
        BaselineOperations = OperationsPerInvoke(baseline);
    }

    public Action Measured { get; }

    public Action Baseline { get; }

    public string BaselineName { get; }

    public int MeasuredOperations { get; }

    public int BaselineOperations { get; }

    public void Dispose() => _cleanup?.Invoke(_instance, null);

    /// <summary>A call of <paramref name="method"/> whose result, if any, is dropped (as BenchmarkDotNet consumes it).</summary>
    private static Action Invoker(object instance, MethodInfo method) =>
        Expression.Lambda<Action>(Expression.Call(Expression.Constant(instance), method)).Compile();

    private static IEnumerable<MethodInfo> BenchmarkMethods(Type type) =>
        type.GetMethods().Where(m => Attribute(m, "BenchmarkAttribute") is not null && m.GetParameters().Length == 0);

    private static CustomAttributeData? Attribute(MemberInfo member, string name) =>
        member.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.Name == name);

    private static object? Named(CustomAttributeData attribute, string name) =>
        attribute.NamedArguments.FirstOrDefault(a => a.MemberName == name).TypedValue.Value;

    private static bool IsBaseline(MethodInfo method) => Named(Attribute(method, "BenchmarkAttribute")!, "Baseline") is true;

    private static int OperationsPerInvoke(MethodInfo method) => Named(Attribute(method, "BenchmarkAttribute")!, "OperationsPerInvoke") as int? ?? 1;

    private static string[] Categories(MethodInfo method) =>
        Attribute(method, "BenchmarkCategoryAttribute") is { } attribute
            ? ((IEnumerable<CustomAttributeTypedArgument>)attribute.ConstructorArguments[0].Value!).Select(a => (string)a.Value!).Order(StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>The first value of a <c>[Params]</c>; an enum's arrives as its underlying integer.</summary>
    private static object? FirstValue(PropertyInfo property)
    {
        object? value = ((IEnumerable<CustomAttributeTypedArgument>)Attribute(property, "ParamsAttribute")!.ConstructorArguments[0].Value!).Select(a => a.Value).FirstOrDefault();
        return value is not null && property.PropertyType.IsEnum ? Enum.ToObject(property.PropertyType, value) : value;
    }

    private static object Parse(Type type, string text) =>
        type.IsEnum ? Enum.Parse(type, text, ignoreCase: true) : Convert.ChangeType(text, type, System.Globalization.CultureInfo.InvariantCulture);
}
