package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.BackendException;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Optional;

/**
 * The part of oneDNN's C API (libdnnl.so.2, version 2.x) that llmnpu calls, through the Foreign
 * Function and Memory API: engines, streams, memory descriptors and objects, matmul and reorder
 * primitives. Each method is one C call whose status is checked; a failure becomes a
 * {@link BackendException} naming the call and oneDNN's status.
 *
 * <p>oneDNN 2.x passes memory and operation descriptors as plain C structs that the caller allocates;
 * llmnpu never reads their fields, so it only needs their sizes ({@link #MEMORY_DESC_BYTES}), checked
 * once when the library is opened. Handles (engine, stream, memory, primitive) are opaque pointers.
 *
 * <p>The library is loaded once for the life of the process and never unloaded: oneDNN keeps global
 * state (its primitive cache, its OpenMP threads) that must not disappear under a running thread.
 */
final class OneDnn {

    /** The shared library Debian's {@code libdnnl2} package installs, and oneDNN's own builds name. */
    static final String LIBRARY = "libdnnl.so.2";
    /** The OpenMP runtime Debian's oneDNN is built against; its threads run the primitives. */
    static final String OPENMP_LIBRARY = "libgomp.so.1";

    /** {@code sizeof(dnnl_memory_desc_t)} in oneDNN 2.x (12 dimensions at most). */
    static final int MEMORY_DESC_BYTES = 696;
    /** Room for {@code dnnl_matmul_desc_t} (2,800 bytes in 2.6); only its address is passed around. */
    private static final int OP_DESC_BYTES = 4096;

    // dnnl_data_type_t
    static final int BF16 = 2;
    static final int F32 = 3;
    static final int S32 = 4;
    static final int S8 = 5;
    static final int U8 = 6;
    // dnnl_format_tag_t
    static final int TAG_ANY = 1;
    static final int TAG_AB = 3;
    static final int TAG_BA = 22;
    // execution argument indices
    static final int ARG_SRC = 1;
    static final int ARG_DST = 17;
    static final int ARG_WEIGHTS = 33;
    static final int ARG_FROM = ARG_SRC;
    static final int ARG_TO = ARG_DST;
    // dnnl_query_t
    private static final int QUERY_IMPL_INFO_STR = 8;
    private static final int QUERY_WEIGHTS_MD = 131;
    private static final int ENGINE_CPU = 1;
    private static final int STREAM_DEFAULT_FLAGS = 1;
    /** Bits of {@code dnnl_cpu_isa_t} that mean int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI). */
    private static final int ISA_AVX512_VNNI_BIT = 0x40;
    private static final int ISA_AVX_VNNI_BIT = 0x400;

    /** {@code dnnl_exec_arg_t}: an argument index and a memory handle. */
    private static final MemoryLayout EXEC_ARG = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("arg"), MemoryLayout.paddingLayout(4), ValueLayout.ADDRESS.withName("memory"));
    private static final long EXEC_ARG_BYTES = EXEC_ARG.byteSize();

    private static final AddressLayout POINTER = ValueLayout.ADDRESS;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;

    private final String version;
    private final int isa;
    private final MethodHandle engineCreate;
    private final MethodHandle engineDestroy;
    private final MethodHandle streamCreate;
    private final MethodHandle streamWait;
    private final MethodHandle streamDestroy;
    private final MethodHandle memoryDescInitByTag;
    private final MethodHandle memoryDescEqual;
    private final MethodHandle memoryDescGetSize;
    private final MethodHandle memoryCreate;
    private final MethodHandle memoryDestroy;
    private final MethodHandle matmulDescInit;
    private final MethodHandle primitiveDescCreate;
    private final MethodHandle primitiveDescQueryMd;
    private final MethodHandle primitiveDescQuery;
    private final MethodHandle primitiveDescDestroy;
    private final MethodHandle reorderPrimitiveDescCreate;
    private final MethodHandle primitiveCreate;
    private final MethodHandle primitiveExecute;
    private final MethodHandle primitiveDestroy;
    private final MethodHandle ompSetNumThreads;

    private OneDnn(SymbolLookup dnnl, SymbolLookup openMp) throws Throwable {
        Linker linker = Linker.nativeLinker();
        MemorySegment v = (MemorySegment) handle(linker, dnnl, "dnnl_version", FunctionDescriptor.of(POINTER))
                .invokeExact();
        v = v.reinterpret(3 * Integer.BYTES);
        int major = v.get(INT, 0);
        this.version = major + "." + v.get(INT, 4) + "." + v.get(INT, 8);
        if (major != 2) {
            throw new UnsupportedOperationException("oneDNN " + version + " is not a 2.x release; llmnpu calls the 2.x C API");
        }
        this.isa = (int) handle(linker, dnnl, "dnnl_get_effective_cpu_isa", FunctionDescriptor.of(INT)).invokeExact();
        engineCreate = handle(linker, dnnl, "dnnl_engine_create", FunctionDescriptor.of(INT, POINTER, INT, LONG));
        engineDestroy = handle(linker, dnnl, "dnnl_engine_destroy", FunctionDescriptor.of(INT, POINTER));
        streamCreate = handle(linker, dnnl, "dnnl_stream_create", FunctionDescriptor.of(INT, POINTER, POINTER, INT));
        streamWait = handle(linker, dnnl, "dnnl_stream_wait", FunctionDescriptor.of(INT, POINTER));
        streamDestroy = handle(linker, dnnl, "dnnl_stream_destroy", FunctionDescriptor.of(INT, POINTER));
        memoryDescInitByTag = handle(linker, dnnl, "dnnl_memory_desc_init_by_tag",
                FunctionDescriptor.of(INT, POINTER, INT, POINTER, INT, INT));
        memoryDescEqual = handle(linker, dnnl, "dnnl_memory_desc_equal", FunctionDescriptor.of(INT, POINTER, POINTER));
        memoryDescGetSize = handle(linker, dnnl, "dnnl_memory_desc_get_size", FunctionDescriptor.of(LONG, POINTER));
        memoryCreate = handle(linker, dnnl, "dnnl_memory_create",
                FunctionDescriptor.of(INT, POINTER, POINTER, POINTER, POINTER));
        memoryDestroy = handle(linker, dnnl, "dnnl_memory_destroy", FunctionDescriptor.of(INT, POINTER));
        matmulDescInit = handle(linker, dnnl, "dnnl_matmul_desc_init",
                FunctionDescriptor.of(INT, POINTER, POINTER, POINTER, POINTER, POINTER));
        primitiveDescCreate = handle(linker, dnnl, "dnnl_primitive_desc_create",
                FunctionDescriptor.of(INT, POINTER, POINTER, POINTER, POINTER, POINTER));
        primitiveDescQueryMd = handle(linker, dnnl, "dnnl_primitive_desc_query_md",
                FunctionDescriptor.of(POINTER, POINTER, INT, INT));
        primitiveDescQuery = handle(linker, dnnl, "dnnl_primitive_desc_query",
                FunctionDescriptor.of(INT, POINTER, INT, INT, POINTER));
        primitiveDescDestroy = handle(linker, dnnl, "dnnl_primitive_desc_destroy", FunctionDescriptor.of(INT, POINTER));
        reorderPrimitiveDescCreate = handle(linker, dnnl, "dnnl_reorder_primitive_desc_create",
                FunctionDescriptor.of(INT, POINTER, POINTER, POINTER, POINTER, POINTER, POINTER));
        primitiveCreate = handle(linker, dnnl, "dnnl_primitive_create", FunctionDescriptor.of(INT, POINTER, POINTER));
        primitiveExecute = handle(linker, dnnl, "dnnl_primitive_execute",
                FunctionDescriptor.of(INT, POINTER, POINTER, INT, POINTER));
        primitiveDestroy = handle(linker, dnnl, "dnnl_primitive_destroy", FunctionDescriptor.of(INT, POINTER));
        ompSetNumThreads = handle(linker, openMp, "omp_set_num_threads", FunctionDescriptor.ofVoid(INT));
        checkMemoryDescSize();
    }

    /**
     * Opens {@code library} (a file name or path), or says why it cannot be used here: not installed, not
     * a 2.x release, or a CPU without int8 dot-product instructions (then oneDNN's int8 kernels are no
     * faster than the Vector API's).
     */
    static Result open(String library) {
        SymbolLookup dnnl;
        SymbolLookup openMp;
        try {
            quietOpenMpThreads();
            // Arena.global(): never unloaded (see the class comment).
            dnnl = SymbolLookup.libraryLookup(library, Arena.global());
            openMp = SymbolLookup.libraryLookup(OPENMP_LIBRARY, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return new Result(Optional.empty(), "oneDNN (" + library + ") cannot be loaded: " + e.getMessage()
                    + "; install it (Debian/Ubuntu: apt-get install libdnnl2) or name its file with -D"
                    + NativeSettings.LIBRARY_PROPERTY);
        }
        OneDnn opened;
        try {
            opened = new OneDnn(dnnl, openMp);
        } catch (UnsupportedOperationException | IllegalStateException e) {
            return new Result(Optional.empty(), e.getMessage());
        } catch (Throwable e) {
            return new Result(Optional.empty(), "oneDNN (" + library + ") is unusable: " + e);
        }
        if (!opened.hasInt8DotProducts()) {
            return new Result(Optional.empty(), String.format(Locale.ROOT, "this CPU has no int8 dot-product "
                    + "instructions (oneDNN %s reports ISA 0x%x, without VNNI), so native int8 products would not "
                    + "beat the Vector API backend", opened.version, opened.isa));
        }
        return new Result(Optional.of(opened), "");
    }

    /** The library, or the reason there is none. */
    record Result(Optional<OneDnn> library, String problem) {
    }

    /**
     * Asks libgomp's idle threads to sleep rather than spin between primitives, unless the user chose
     * otherwise: between two matrix products the backend's own Java threads run the other ops on the
     * same cores, and spinning OpenMP threads would take those cores from them. libgomp reads the
     * setting once, when it is loaded, so this runs before oneDNN is.
     */
    private static void quietOpenMpThreads() {
        if (System.getenv("OMP_WAIT_POLICY") != null) {
            return;
        }
        Linker linker = Linker.nativeLinker();
        Optional<MemorySegment> setenv = linker.defaultLookup().find("setenv");
        if (setenv.isEmpty()) {
            return;
        }
        MethodHandle h = linker.downcallHandle(setenv.get(), FunctionDescriptor.of(INT, POINTER, POINTER, INT));
        try (Arena arena = Arena.ofConfined()) {
            int ignored = (int) h.invokeExact(arena.allocateFrom("OMP_WAIT_POLICY"), arena.allocateFrom("PASSIVE"), 0);
        } catch (Throwable e) {
            // Only a speed matter: the threads then spin a little after each product.
        }
    }

    private static MethodHandle handle(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = lookup.find(name).orElseThrow(() ->
                new IllegalStateException("oneDNN lacks the function " + name + "; llmnpu needs oneDNN 2.x"));
        return linker.downcallHandle(symbol, descriptor);
    }

    /**
     * A memory descriptor must fill exactly {@link #MEMORY_DESC_BYTES}: the library writes the whole
     * struct when it initialises one, so bytes past that size must stay untouched.
     */
    private void checkMemoryDescSize() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment md = arena.allocate(MEMORY_DESC_BYTES + 256, 8);
            md.fill((byte) 0x5A);
            initMemoryDesc(md, arena, new long[] {3, 5}, F32, TAG_AB);
            for (long i = MEMORY_DESC_BYTES; i < md.byteSize(); i++) {
                if (md.get(ValueLayout.JAVA_BYTE, i) != 0x5A) {
                    throw new IllegalStateException("oneDNN " + version + " has a memory descriptor larger than "
                            + MEMORY_DESC_BYTES + " bytes; llmnpu supports the 2.x layout");
                }
            }
        }
    }

    String version() {
        return version;
    }

    int isa() {
        return isa;
    }

    boolean hasInt8DotProducts() {
        return (isa & (ISA_AVX512_VNNI_BIT | ISA_AVX_VNNI_BIT)) != 0;
    }

    /** Library, version and instruction set, e.g. {@code oneDNN 2.6.3 (ISA 0xe7)}. */
    String description() {
        return String.format(Locale.ROOT, "oneDNN %s (ISA 0x%x)", version, isa);
    }

    // ---- engines and streams ---------------------------------------------------------------------

    MemorySegment createCpuEngine() {
        return create("dnnl_engine_create", out -> (int) engineCreate.invokeExact(out, ENGINE_CPU, 0L));
    }

    void destroyEngine(MemorySegment engine) {
        call("dnnl_engine_destroy", () -> (int) engineDestroy.invokeExact(engine));
    }

    MemorySegment createStream(MemorySegment engine) {
        return create("dnnl_stream_create", out -> (int) streamCreate.invokeExact(out, engine, STREAM_DEFAULT_FLAGS));
    }

    void destroyStream(MemorySegment stream) {
        call("dnnl_stream_destroy", () -> (int) streamDestroy.invokeExact(stream));
    }

    // ---- memory descriptors and objects ---------------------------------------------------------

    /** Fills {@code md} (at least {@link #MEMORY_DESC_BYTES}) for a dense tensor of {@code dims} in layout {@code tag}. */
    void initMemoryDesc(MemorySegment md, Arena arena, long[] dims, int dataType, int tag) {
        MemorySegment d = arena.allocateFrom(ValueLayout.JAVA_LONG, dims);
        call("dnnl_memory_desc_init_by_tag", () -> (int) memoryDescInitByTag.invokeExact(md, dims.length, d, dataType, tag));
    }

    boolean memoryDescEqual(MemorySegment a, MemorySegment b) {
        try {
            return (int) memoryDescEqual.invokeExact(a, b) != 0;
        } catch (Throwable e) {
            throw failure("dnnl_memory_desc_equal", e);
        }
    }

    long memoryDescSize(MemorySegment md) {
        try {
            return (long) memoryDescGetSize.invokeExact(md);
        } catch (Throwable e) {
            throw failure("dnnl_memory_desc_get_size", e);
        }
    }

    /** A memory object of layout {@code md} over {@code data}, which the caller keeps alive and frees. */
    MemorySegment createMemory(MemorySegment md, MemorySegment engine, MemorySegment data) {
        return create("dnnl_memory_create", out -> (int) memoryCreate.invokeExact(out, md, engine, data));
    }

    void destroyMemory(MemorySegment memory) {
        call("dnnl_memory_destroy", () -> (int) memoryDestroy.invokeExact(memory));
    }

    // ---- primitives -------------------------------------------------------------------------------

    /**
     * The descriptor of a matmul primitive {@code dst = src · weights} for the given memory layouts (the
     * weights' may be {@link #TAG_ANY}, letting oneDNN choose its packed layout). Destroy it with
     * {@link #destroyPrimitiveDesc}.
     */
    MemorySegment matmulPrimitiveDesc(MemorySegment engine, MemorySegment srcMd, MemorySegment weightsMd,
                                      MemorySegment dstMd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment desc = arena.allocate(OP_DESC_BYTES, 8);
            call("dnnl_matmul_desc_init",
                    () -> (int) matmulDescInit.invokeExact(desc, srcMd, weightsMd, MemorySegment.NULL, dstMd));
            return create("dnnl_primitive_desc_create (matmul)", out -> (int) primitiveDescCreate.invokeExact(out,
                    desc, MemorySegment.NULL, engine, MemorySegment.NULL));
        }
    }

    /** The descriptor of a reorder from layout {@code fromMd} to {@code toMd} on {@code engine}. */
    MemorySegment reorderPrimitiveDesc(MemorySegment engine, MemorySegment fromMd, MemorySegment toMd) {
        return create("dnnl_reorder_primitive_desc_create", out -> (int) reorderPrimitiveDescCreate.invokeExact(out,
                fromMd, engine, toMd, engine, MemorySegment.NULL));
    }

    /** Copies the weights layout a primitive descriptor chose into {@code md}. */
    void weightsMemoryDesc(MemorySegment primitiveDesc, MemorySegment md) {
        MemorySegment found;
        try {
            found = (MemorySegment) primitiveDescQueryMd.invokeExact(primitiveDesc, QUERY_WEIGHTS_MD, 0);
        } catch (Throwable e) {
            throw failure("dnnl_primitive_desc_query_md", e);
        }
        if (found.equals(MemorySegment.NULL)) {
            throw new BackendException("oneDNN matmul reports no weights layout");
        }
        MemorySegment.copy(found.reinterpret(MEMORY_DESC_BYTES), 0, md, 0, MEMORY_DESC_BYTES);
    }

    /** The name of the implementation oneDNN picked, e.g. {@code brg:avx512_core_vnni}. */
    String implementation(MemorySegment primitiveDesc) {
        MemorySegment name = create("dnnl_primitive_desc_query",
                out -> (int) primitiveDescQuery.invokeExact(primitiveDesc, QUERY_IMPL_INFO_STR, 0, out));
        return name.reinterpret(256).getString(0);
    }

    void destroyPrimitiveDesc(MemorySegment primitiveDesc) {
        call("dnnl_primitive_desc_destroy", () -> (int) primitiveDescDestroy.invokeExact(primitiveDesc));
    }

    MemorySegment createPrimitive(MemorySegment primitiveDesc) {
        return create("dnnl_primitive_create", out -> (int) primitiveCreate.invokeExact(out, primitiveDesc));
    }

    void destroyPrimitive(MemorySegment primitive) {
        call("dnnl_primitive_destroy", () -> (int) primitiveDestroy.invokeExact(primitive));
    }

    /** Room for {@code count} execution arguments, filled with {@link #setArgument}. */
    static MemorySegment allocateArguments(Arena arena, int count) {
        return arena.allocate(EXEC_ARG_BYTES * count, 8);
    }

    static void setArgument(MemorySegment args, int index, int arg, MemorySegment memory) {
        args.set(INT, index * EXEC_ARG_BYTES, arg);
        args.set(POINTER, index * EXEC_ARG_BYTES + 8, memory);
    }

    /**
     * Runs {@code primitive} on {@code threads} OpenMP threads and waits for it. The thread count is an
     * OpenMP setting of the calling thread, so it is set on every call (a Java thread may run graphs of
     * backends with different thread counts).
     */
    void execute(MemorySegment primitive, MemorySegment stream, MemorySegment args, int count, int threads) {
        try {
            ompSetNumThreads.invokeExact(threads);
        } catch (Throwable e) {
            throw failure("omp_set_num_threads", e);
        }
        call("dnnl_primitive_execute", () -> (int) primitiveExecute.invokeExact(primitive, stream, count, args));
        call("dnnl_stream_wait", () -> (int) streamWait.invokeExact(stream));
    }

    // ---- errors -----------------------------------------------------------------------------------

    /** A C call that returns a {@code dnnl_status_t}. */
    @FunctionalInterface
    private interface StatusCall {
        int call() throws Throwable;
    }

    /** A C call that returns a {@code dnnl_status_t} and writes a handle to {@code out}. */
    @FunctionalInterface
    private interface CreateCall {
        int call(MemorySegment out) throws Throwable;
    }

    private static void call(String name, StatusCall call) {
        int status;
        try {
            status = call.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable e) {
            throw failure(name, e);
        }
        if (status != 0) {
            throw new BackendException("oneDNN " + name + " failed: " + statusName(status));
        }
    }

    private static MemorySegment create(String name, CreateCall call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(POINTER);
            call(name, () -> call.call(out));
            return out.get(POINTER, 0);
        }
    }

    private static BackendException failure(String call, Throwable e) {
        return new BackendException("oneDNN " + call + " could not be called: " + e, e);
    }

    static String statusName(int status) {
        return switch (status) {
            case 1 -> "out of memory";
            case 2 -> "invalid arguments";
            case 3 -> "unimplemented (no kernel for these types and shapes)";
            case 5 -> "runtime error";
            case 6 -> "not required";
            default -> "status " + status;
        };
    }
}
